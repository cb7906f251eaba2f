"""The SFC_SDK_* environment variables: one table (sfc_sdk.defaults.ENVIRONMENT) names
them all, only sfc_sdk.defaults reads them, and each does what its row says where it
takes effect (the CLI in a subprocess, or the module that uses it)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from sfc_sdk.defaults import ENVIRONMENT, SAMPLE_CLIP, environment_markdown

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("sdk",)  # the whole package (converters/, runtimes/, devices/ at the top level point into it)
NAMES = {v.name for v in ENVIRONMENT}


def _python_files():
    for top in SOURCES:
        for folder, _, files in os.walk(REPO / top):  # links not followed
            yield from (Path(folder) / f for f in files if f.endswith(".py"))


def test_every_variable_the_code_names_is_in_the_table_and_no_module_reads_one_itself():
    named, readers = set(), set()
    for path in _python_files():
        text = path.read_text()
        named |= set(re.findall(r"SFC_SDK_[A-Z0-9_]+", text))
        if re.search(r"(environ\.get\(|environ\[|getenv\()\s*[\"']SFC_SDK_", text):
            readers.add(path.relative_to(REPO).as_posix())
    assert named == NAMES, f"not in ENVIRONMENT: {named - NAMES}; in it but named nowhere: {NAMES - named}"
    assert not readers, f"read outside sfc_sdk.defaults (use its accessor): {readers}"  # it reads EnvVar.name


def test_the_markdown_table_has_a_row_per_variable():
    lines = environment_markdown().splitlines()
    assert len(lines) == 2 + len(ENVIRONMENT)
    for v, line in zip(ENVIRONMENT, lines[2:], strict=True):
        assert line.startswith(f"| `{v.name}` |") and v.default in line and v.effect.split(":")[0] in line


def _env(**values: str) -> dict[str, str]:
    """This process's environment without any SFC_SDK_* variable, plus `values`."""
    env = {k: v for k, v in os.environ.items() if k not in NAMES}
    return {**env, **values}


def _blocked(tmp_path: Path) -> Path:
    """A regular file: no folder can be made under it."""
    path = tmp_path / "a-file"
    path.write_text("")
    return path


def _cache(cli, tmp_path, monkeypatch):
    """`pull` keeps its download under the cache: told to use a folder nothing can be created in,
    it names that folder's downloads/ (before any network), and `info` reports the cache."""
    blocked = _blocked(tmp_path)
    out = cli("pull", "kinetics400-i3d", "-o", tmp_path / "k400", env=_env(SFC_SDK_CACHE=str(blocked)))
    assert out.returncode == 1 and f"cannot write the downloads folder {blocked / 'downloads'}" in out.stderr, \
        out.stderr
    out = cli("info", env=_env(SFC_SDK_CACHE=str(tmp_path / "mine")))
    assert f"cache        {tmp_path / 'mine'}" in out.stdout and \
        f"environment  SFC_SDK_CACHE={tmp_path / 'mine'}" in out.stdout, out.stdout


def _downloads(cli, tmp_path, monkeypatch):
    blocked = _blocked(tmp_path)
    env = _env(SFC_SDK_CACHE=str(tmp_path / "cache"), SFC_SDK_DOWNLOADS=str(blocked / "dl"))
    out = cli("pull", "kinetics400-i3d", "-o", tmp_path / "k400", env=env)
    assert out.returncode == 1 and f"cannot write the downloads folder {blocked / 'dl'}" in out.stderr, out.stderr


def _export_cache(cli, tmp_path, monkeypatch):
    from sfc_sdk.converters import export_cache

    monkeypatch.setenv("SFC_SDK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SFC_SDK_EXPORT_CACHE", str(tmp_path / "exports"))
    export_cache.store("k" * 32, b"graph")
    assert (tmp_path / "exports" / ("k" * 32 + ".onnx")).read_bytes() == b"graph"
    monkeypatch.delenv("SFC_SDK_EXPORT_CACHE")
    assert export_cache.load("k" * 32) is None  # unset: the cache's exports/
    export_cache.store("k" * 32, b"graph")
    assert (tmp_path / "cache" / "exports" / ("k" * 32 + ".onnx")).is_file()


def _engine_cache(cli, tmp_path, monkeypatch):
    from sfc_sdk.runtimes.engine_cache import engine_path

    bundle = SimpleNamespace(manifest=SimpleNamespace(files={"model.onnx": "ab" * 32}, model_file="model.onnx",
                                                      precision="fp16"))
    monkeypatch.setenv("SFC_SDK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SFC_SDK_ENGINE_CACHE", str(tmp_path / "engines"))
    assert engine_path(bundle, "10.3.0", "Orin").parent.parent == tmp_path / "engines"
    monkeypatch.delenv("SFC_SDK_ENGINE_CACHE")
    assert engine_path(bundle, "10.3.0", "Orin").parent.parent == tmp_path / "cache" / "engines"


def _devices(cli, tmp_path, monkeypatch):
    profile = json.loads((REPO / "sdk" / "devices" / "profiles" / "generic-cpu.json").read_text())
    profile.update(name="my-test-box", family_default=False, description="a profile of the user's own")
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    (tmp_path / "b" / "mine.json").write_text(json.dumps(profile))
    listed = cli("devices", env=_env(SFC_SDK_DEVICES=os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")])))
    assert listed.returncode == 0 and "my-test-box" in listed.stdout, listed.stderr
    assert "my-test-box" not in cli("devices", env=_env()).stdout


def _frame_source(cli, tmp_path, monkeypatch):
    from sfc_sdk.video.sources import frame_sources, open_frame_source

    monkeypatch.delenv("SFC_SDK_FRAME_SOURCE", raising=False)
    order = [e.name for e in frame_sources("file")]
    if len(order) < 2:
        pytest.skip("one frame source for files here (PyAV not installed): nothing to reorder")
    first = open_frame_source(SAMPLE_CLIP)
    monkeypatch.setenv("SFC_SDK_FRAME_SOURCE", order[-1])
    chosen = open_frame_source(SAMPLE_CLIP)
    try:
        assert [e.name for e in frame_sources("file")][0] == order[-1]
        assert type(chosen) is not type(first)
    finally:
        first.close()
        chosen.close()


def _keep_freed_memory(cli, tmp_path, monkeypatch):
    code = "from sfc_sdk.runtimes.cpu_allocator import keep_freed_memory\nprint(keep_freed_memory())"

    def applied(**env: str) -> str:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                             env=_env(**env), check=True)
        return out.stdout.strip()

    if applied() != "True":
        pytest.skip("not Linux with glibc: the allocator is left as it is anyway")
    assert applied(SFC_SDK_KEEP_FREED_MEMORY="0") == "False"
    assert applied(SFC_SDK_KEEP_FREED_MEMORY="1") == "True"


HONOURED: dict[str, Callable] = {
    "SFC_SDK_CACHE": _cache, "SFC_SDK_DOWNLOADS": _downloads, "SFC_SDK_EXPORT_CACHE": _export_cache,
    "SFC_SDK_ENGINE_CACHE": _engine_cache, "SFC_SDK_DEVICES": _devices, "SFC_SDK_FRAME_SOURCE": _frame_source,
    "SFC_SDK_KEEP_FREED_MEMORY": _keep_freed_memory,
}


def test_every_variable_in_the_table_has_a_check_below():
    assert set(HONOURED) == NAMES


@pytest.mark.parametrize("name", sorted(HONOURED))
def test_the_variable_is_honoured(name, cli, tmp_path, monkeypatch):
    HONOURED[name](cli, tmp_path, monkeypatch)
