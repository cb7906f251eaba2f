"""Files the SDK writes and checks: written whole or not at all, and their sha256."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` under a unique temporary name beside `path`, then rename it into place:
    a reader or a killed process never sees half a file, and concurrent writers never share
    a temporary. Opened as `open` does, with the user's umask (tempfile's mkstemp would make
    it 0600, which another user or a service account could not read)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
    try:
        with open(tmp, "xb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (bundles' checksums, catalogued downloads)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
