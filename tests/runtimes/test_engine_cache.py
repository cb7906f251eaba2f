"""TensorRT engines are cached per bundle, GPU and TensorRT version in the user cache, so
a second process (which unpacks an archive bundle into a new temporary folder) finds the
engine the first one built. The build itself needs a GPU; the cache logic does not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sfc_sdk.bundle import pack

WHERE = """
import json, sys
from sfc_sdk.bundle import Bundle
from sfc_sdk.runtimes.engine_cache import engine_path, ort_tensorrt_options
b = Bundle.open(sys.argv[1])
print(json.dumps({"bundle": str(b.directory), "engine": str(engine_path(b, "8.2.1", "NVIDIA Tegra X1")),
                  "other_gpu": str(engine_path(b, "8.2.1", "Orin (nvgpu)")),
                  "other_trt": str(engine_path(b, "10.3.0", "NVIDIA Tegra X1")),
                  "ort": ort_tensorrt_options(b)["trt_engine_cache_path"], "torch": "torch" in sys.modules}))
"""


def _where(archive: Path, env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", WHERE, str(archive)], capture_output=True, text=True, timeout=60,
                         env=env, check=True)
    return json.loads(out.stdout)


def test_engine_cache_survives_a_second_process_and_is_keyed_by_gpu_and_version(bundles, tmp_path):
    archive = pack(bundles("onnx", "fp32"), tmp_path / "model.tar.gz")
    env = {**os.environ, "SFC_SDK_CACHE": str(tmp_path / "cache")}
    env.pop("SFC_SDK_ENGINE_CACHE", None)
    first, second = _where(archive, env), _where(archive, env)
    assert first["bundle"] != second["bundle"]  # each process unpacks into its own temporary folder
    assert first["engine"] == second["engine"] and first["ort"] == second["ort"]  # ... and finds the same engine
    engine = Path(first["engine"])
    assert engine.is_relative_to(tmp_path / "cache" / "engines")
    assert not engine.is_relative_to(first["bundle"])
    assert len({first["engine"], first["other_gpu"], first["other_trt"]}) == 3  # one engine per GPU and version
    assert Path(first["ort"]).parent == engine.parent and not first["torch"]

    moved = _where(archive, {**env, "SFC_SDK_ENGINE_CACHE": str(tmp_path / "engines")})
    assert Path(moved["engine"]).is_relative_to(tmp_path / "engines")
