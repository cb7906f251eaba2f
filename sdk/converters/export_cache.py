"""ONNX exports kept on disk between processes, keyed by everything a graph depends on.

`sfc-sdk profile` exports each configuration it measures, and `convert --target auto`
then exports the chosen one again, as does each later `convert` of the same model to
another precision or target (ONNX Runtime, OpenVINO and TensorRT bundles all start from
the ONNX export). The torch.export-based exporter takes about 5 s per graph for the
bundled model here, and a bundle holds four; a kept export is a file copy.

The key holds the model directory's content, the exported module (kind, ratio, shape,
opset), the exporter's releases (torch, onnx, onnxscript) and this package's source
code, so a changed model, library or SDK never reuses an old graph (torch's compile
cache keys on torch's own source the same way). Whatever the cache returns, `convert`
still checks the bundle against PyTorch on real clips before writing it.
"""

from __future__ import annotations

import functools
import hashlib
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ..defaults import export_cache_dir
from ..fileio import write_atomic

# Oldest (least recently used) exports go first beyond this; r3d_18's four graphs are ~530 MB.
MAX_BYTES = 2 * 2**30
SUFFIX = ".onnx"


def export_key(*parts: object) -> str:
    """A file name for the export `parts` describe (reprs of plain values and dataclasses)."""
    digest = hashlib.sha256(repr((parts, _library_versions(), _source_digest())).encode())
    return digest.hexdigest()[:32]


def load(key: str) -> bytes | None:
    path = export_cache_dir() / f"{key}{SUFFIX}"
    try:
        data = path.read_bytes()
        os.utime(path)  # recently used: evicted last
    except OSError:
        return None
    return data


def store(key: str, data: bytes) -> None:
    """Keep `data` under `key`. Written to a temporary name and renamed, so a concurrent
    reader or a killed process never sees part of a file; a cache that cannot be
    written (read-only home, full disk) only costs the next export its time. The file
    gets the user's umask (mkstemp's 0600 would hide a shared cache from its other users)."""
    folder = export_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / f"{key}{SUFFIX}", data)
        _evict(folder)
    except OSError:
        return


def _evict(folder: Path) -> None:
    files = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
    total = 0
    for path in files:
        total += path.stat().st_size
        if total > MAX_BYTES and path is not files[0]:
            path.unlink(missing_ok=True)


def _library_versions() -> tuple[str, ...]:
    out = []
    for name in ("torch", "onnx", "onnxscript"):
        try:
            out.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            out.append(f"{name} missing")
    return tuple(out)


@functools.cache
def _source_digest() -> str:
    """sha256 over this package's Python source (about 100 files, a few ms)."""
    root = Path(__file__).parents[1]
    digest = hashlib.sha256()
    files = []
    for folder, _, names in os.walk(root):
        files += [Path(folder) / n for n in names if n.endswith(".py")]
    for path in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
