"""The house rules, checked for real: layers import one way (import-linter), a bundle runs
in a Python where torch cannot be imported, and the CLI's help imports nothing heavy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sfc_sdk import Recognizer

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "onnxruntime", "openvino", "ai_edge_litert", "tensorrt", "cv2")
NO_TORCH = "import sys\nsys.modules['torch'] = None  # any `import torch` now raises ImportError\n"


def _python(code: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, cwd=REPO)


def _cli_without_torch(*args: object, timeout: float = 300) -> subprocess.CompletedProcess:
    """The real `sfc-sdk` entry point in a Python where torch cannot be imported."""
    argv = ["sfc-sdk", *map(str, args)]
    return _python(NO_TORCH + f"sys.argv = {argv!r}\nfrom sfc_sdk.cli import main\nmain()\n", timeout)


def test_lint_imports_keeps_every_contract():
    """pyproject.toml's import-linter contracts: the layer order, no cycles inside a
    package, and no torch on the bundle path (function-level imports count)."""
    exe = Path(sys.executable).with_name("lint-imports")
    exe = str(exe) if exe.exists() else shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter not installed (pip install -e '.[dev]')")
    out = subprocess.run([exe, "--no-cache"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "Contracts: 3 kept, 0 broken." in out.stdout


@pytest.mark.parametrize("args", [["--help"], ["devices"]])
def test_help_and_devices_import_no_framework_or_runtime(args):
    code = (f"import json, sys\nsys.argv = {['sfc-sdk', *args]!r}\nfrom sfc_sdk.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n")
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1]) == []


def test_bundles_run_without_torch_and_answer_as_with_it(bundles, heldout_clips):
    """ONNX, OpenVINO and TFLite bundles load and predict real clips in a process that
    cannot import torch, with the labels and scores they give in a process that has it."""
    clips = heldout_clips[::10]  # three actors' clips, lena's among them
    paths = {fmt: str(bundles(fmt, "fp32")) for fmt in ("onnx", "openvino", "tflite")}
    code = NO_TORCH + textwrap.dedent(f"""
        import json
        from sfc_sdk import Recognizer
        out = {{}}
        for fmt, path in {paths!r}.items():
            rec = Recognizer(path)
            out[fmt] = [[[t.label, t.score] for t in rec.predict(c).top] for c in {list(map(str, clips))!r}]
        out["torch_modules"] = sorted(m for m in sys.modules if m.split(".")[0] == "torch" and sys.modules[m])
        print(json.dumps(out))
    """)
    run = _python(code)
    assert run.returncode == 0, run.stderr[-3000:]
    without = json.loads(run.stdout.splitlines()[-1])
    assert without.pop("torch_modules") == []
    reference = Recognizer()  # the PyTorch model the bundles were exported from
    for fmt, path in paths.items():
        rec = Recognizer(path)
        for clip, tops in zip(clips, without[fmt], strict=True):
            with_torch = [[t.label, t.score] for t in rec.predict(clip).top]
            assert [label for label, _ in tops] == [label for label, _ in with_torch], (fmt, clip.name)
            assert [s for _, s in tops] == pytest.approx([s for _, s in with_torch], abs=1e-6), (fmt, clip.name)
            assert tops[0][0] == reference.predict(clip, short="repeat").label, (fmt, clip.name)


def test_cli_runs_bundles_without_torch_and_names_the_extra_for_the_rest(bundles, run_clip, tiny_model_dir,
                                                                        tmp_path):
    bundle = bundles("openvino", "fp32")
    out = _cli_without_torch("predict", run_clip, "--model", bundle, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["runtime"].startswith("openvino/")
    out = _cli_without_torch("watch", run_clip, "--model", bundle, "--json", "--max-windows", "1", "--window-s", "1")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[0])["label"]
    out = _cli_without_torch("info", "--model", bundle)
    assert out.returncode == 0 and "torch        not installed" in out.stdout and "openvino/" in out.stdout, out.stderr
    # What needs torch fails in one line that names the extra.
    for args in (["predict", run_clip, "--model", tiny_model_dir],
                 ["train", "sfc", "--backbone", tiny_model_dir, "--data", tmp_path, "-o", tmp_path / "out"],
                 ["convert", "--target", "onnx", "-o", tmp_path / "b"],
                 ["backbones"]):
        out = _cli_without_torch(*args)
        assert out.returncode == 1, (args, out.stdout, out.stderr)
        assert out.stderr.count("\n") == 1 and 'sfc-sdk[torch]' in out.stderr, (args, out.stderr)
