"""Deployment bundles: what `sfc-sdk convert` writes and `Recognizer.load` reads.

A bundle is a directory (or a .tar.gz of one) that describes itself:

    my_bundle/
      manifest.json   schema, digest, model (labels, preprocessing), export shape,
                      target, runtime, precision, input/output names and shapes,
                      parity, and the sha256 of every other file
      model.onnx      (or model.xml + model.bin, model.tflite, ...)

The bundle's digest is the sha256 of the manifest's canonical JSON (sorted keys,
compact separators, without the digest field itself): the manifest lists every other
file's sha256, so this one value covers the whole bundle. `convert` prints it, `info`
shows it, and `Bundle.open(path, expect_digest=...)` refuses any other bundle.

Loading checks the schema, the digest and every checksum before any model file is
parsed, so an edited manifest, or a tampered or half-copied bundle, is refused with the
name of the file at fault. Unpacking an archive never writes outside the destination folder.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import shutil
import string
import tarfile
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from .config import ModelConfig, read_json
from .errors import BundleError, ConfigError, SfcError
from .fileio import sha256_file

SCHEMA = "sfc-sdk-bundle"
# Version 2 seals the manifest with its digest. Version 1 bundles (no digest) still load,
# their digest computed from the manifest as it is: a fleet's deployed bundles keep running
# after an SDK upgrade, and `--expect-digest` pins them as well. The seal only catches
# edits made by hand (whoever edits on purpose can recompute it); pinning is what refuses
# a bundle other than the one deployed, old or new.
SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)
DIGEST_PREFIX = "sha256:"
MIN_DIGEST_PREFIX = 12  # hex characters of a pinned digest: 48 bits, unique among any fleet's bundles
MANIFEST = "manifest.json"
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class ShortInput:
    """A second static input of the same model for videos shorter than the main one: fewer
    frames at a lower ratio, so the tail gets as many steps and every frame is sampled
    once, as the PyTorch path does (a 42-frame video: 32 frames at ratio 2)."""

    frames: int
    ratio: int
    model_file: str


@dataclass(frozen=True)
class Manifest:
    """Everything a runtime and the Recognizer need to use the bundle's model."""

    model: ModelConfig
    format: str  # sfc_sdk.formats name: onnx, openvino, tflite, tensorrt
    runtime: str  # preferred runtime adapter
    precision: str  # fp32, fp16, bf16, int8
    target: str  # what the user asked for (a format or a device family)
    frames: int  # T_in baked into the export
    ratio: int  # compression ratio baked into the export
    head_stride: int  # input frames per head time step (kept positions -> frames)
    model_file: str  # the file the runtime opens
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    files: dict[str, str]  # relative path -> sha256, every file but the manifest
    parity: dict[str, Any] = field(default_factory=dict)
    sdk_version: str = ""
    notes: tuple[str, ...] = ()
    selection: dict[str, Any] = field(default_factory=dict)  # device target: the ratio chosen and why
    short_inputs: tuple[ShortInput, ...] = ()  # shorter static inputs (older bundles: none)
    # What the model files need of their runtime (TensorRT: releases, opset, operators).
    compatibility: dict[str, Any] = field(default_factory=dict)
    # "sha256:<hex>" of the manifest as read or written (`manifest_digest`); "" for a
    # manifest built in memory and not yet written (`write_manifest` returns it sealed).
    digest: str = ""
    schema_version: int = SCHEMA_VERSION  # as read (1: its digest is computed, not sealed); written: the current

    @property
    def model_config(self) -> ModelConfig:
        """The model's config with the SFC input length and ratio this export was built for."""
        return replace(self.model, sfc=replace(self.model.sfc, frames=self.frames, ratio=self.ratio))

    @property
    def preprocessing(self) -> dict[str, Any]:
        """How to turn a video into the input tensor, for readers that are not sfc_sdk."""
        spec = self.model.input_spec
        return {"frames": self.frames, "sampling": "uniform over the whole video (centre of equal segments)",
                "color": "RGB", "resize_short_side": spec.resize_size, "crop": spec.crop_size, "crops": 1,
                "scale": 1 / 255, "mean": list(spec.mean), "std": list(spec.std), "layout": "NCTHW"}

    def to_dict(self) -> dict[str, Any]:
        """The manifest as written, sealed with the digest of this content (`digest` field ignored)."""
        d = asdict(self)
        del d["digest"], d["schema_version"]
        d["preprocessing"] = self.preprocessing  # derived from model.input; written for other readers
        d["model"] = self.model.to_dict()
        d["inputs"] = [asdict(t) for t in self.inputs]
        d["outputs"] = [asdict(t) for t in self.outputs]
        d["notes"] = list(self.notes)
        d["short_inputs"] = [asdict(s) for s in self.short_inputs]
        # Hashed as a reader will see it: JSON turns tuples into lists and int keys into strings.
        content = json.loads(json.dumps({"schema": SCHEMA, "schema_version": SCHEMA_VERSION, **d}))
        return {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "digest": manifest_digest(content), **d}

    @classmethod
    def from_dict(cls, d: Any) -> Manifest:
        """Parse and type-check a manifest; every problem is a BundleError."""
        if not isinstance(d, dict):
            raise BundleError(f"manifest must be a JSON object, got {type(d).__name__}")
        if d.get("schema") != SCHEMA:
            raise BundleError(f"not an sfc-sdk bundle manifest (schema {d.get('schema')!r}, expected {SCHEMA!r})")
        version = d.get("schema_version")
        if type(version) is not int or version not in READABLE_VERSIONS:  # not True, not 1.0
            raise BundleError(f"bundle schema version {version!r} is not supported "
                              f"(this sfc-sdk reads versions {', '.join(map(str, READABLE_VERSIONS))}); "
                              "re-export with this version")
        digest = _checked_digest(d)
        try:
            model = ModelConfig.from_dict(_typed(d, "model", dict))
        except SfcError as e:
            raise BundleError(f"manifest model: {e}") from None
        files = _typed(d, "files", dict)
        if not all(isinstance(k, str) and isinstance(v, str) and len(v) == 64 for k, v in files.items()):
            raise BundleError("manifest files must map file names to sha256 hex digests")
        manifest = cls(
            model=model, format=_typed(d, "format", str), runtime=_typed(d, "runtime", str),
            precision=_typed(d, "precision", str), target=_typed(d, "target", str),
            frames=_positive(d, "frames"), ratio=_positive(d, "ratio"), head_stride=_positive(d, "head_stride"),
            model_file=_typed(d, "model_file", str),
            inputs=_tensors(d, "inputs"), outputs=_tensors(d, "outputs"), files=files,
            parity=_optional(d, "parity", dict),
            sdk_version=str(d.get("sdk_version", "")),
            notes=tuple(str(n) for n in _optional(d, "notes", list)),
            selection=_optional(d, "selection", dict),
            short_inputs=tuple(_short_input(s) for s in _optional(d, "short_inputs", list)),
            compatibility=_optional(d, "compatibility", dict), digest=digest, schema_version=version,
        )
        for name in files:
            _safe_relative(name)
        for model_file in (manifest.model_file, *(s.model_file for s in manifest.short_inputs)):
            if model_file not in files:
                raise BundleError(f"manifest model file {model_file!r} is not among its checksummed files")
        return manifest

    def for_input(self, frames: int, ratio: int) -> Manifest | None:
        """This manifest as seen by a runtime of the (frames, ratio) input: the main one, a
        short one (its own model file and input shape), or None where the bundle has neither."""
        if (frames, ratio) == (self.frames, self.ratio):
            return self
        short = next((s for s in self.short_inputs if (s.frames, s.ratio) == (frames, ratio)), None)
        if short is None:
            return None
        b, c, _, h, w = self.inputs[0].shape
        inputs = (replace(self.inputs[0], shape=(b, c, frames, h, w)), *self.inputs[1:])
        return replace(self, frames=frames, ratio=ratio, model_file=short.model_file, inputs=inputs, short_inputs=())


def manifest_digest(d: dict[str, Any]) -> str:
    """"sha256:<hex>" of a manifest: its canonical JSON, i.e. Python's
    `json.dumps(d, sort_keys=True, separators=(",", ":"))`, without the "digest" entry."""
    content = {k: v for k, v in d.items() if k != "digest"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return DIGEST_PREFIX + hashlib.sha256(text.encode()).hexdigest()


def _checked_digest(d: dict[str, Any]) -> str:
    """The manifest's digest, refused where the manifest changed after it was sealed."""
    digest = manifest_digest(d)
    if d.get("schema_version") == 1:
        return digest  # unsealed: see SCHEMA_VERSION
    if "digest" not in d:
        raise BundleError("manifest is missing its 'digest'; re-export the bundle with `sfc-sdk convert`")
    if d["digest"] != digest:
        raise BundleError(f"{MANIFEST} was edited after export: its content hashes to {digest}, not to the "
                          f"digest it was sealed with ({d['digest']!r}); labels and settings are part of the "
                          "bundle: re-export it with `sfc-sdk convert` to change them")
    return digest


def check_digest(actual: str, expected: str, where: str | Path) -> None:
    """Refuse a bundle whose digest is not `expected`: a full sha256 hex digest or a prefix of
    at least MIN_DIGEST_PREFIX hex characters, with or without "sha256:"."""
    want = expected.strip().lower().removeprefix(DIGEST_PREFIX)
    if not MIN_DIGEST_PREFIX <= len(want) <= 64 or not set(want) <= set(string.hexdigits.lower()):
        raise ConfigError(f"expected digest {expected!r}: give the bundle's sha256 digest as `sfc-sdk convert` "
                          f"and `sfc-sdk info` print it, or its first {MIN_DIGEST_PREFIX} or more hex characters")
    if not actual.removeprefix(DIGEST_PREFIX).startswith(want):
        raise BundleError(f"{where}: not the pinned bundle: expected digest {DIGEST_PREFIX}{want}, got {actual}")


def _short_input(d: Any) -> ShortInput:
    if not isinstance(d, dict):
        raise BundleError("manifest short_inputs must be objects")
    return ShortInput(_positive(d, "frames"), _positive(d, "ratio"), _typed(d, "model_file", str))


def _typed(d: dict, key: str, kind: type) -> Any:
    if key not in d:
        raise BundleError(f"manifest is missing {key!r}")
    if not isinstance(d[key], kind) or isinstance(d[key], bool):
        raise BundleError(f"manifest {key!r} must be {kind.__name__}, got {type(d[key]).__name__}")
    return d[key]


def _optional(d: dict, key: str, kind: type) -> Any:
    """An optional entry: absent means empty; present must have the right type."""
    return _typed(d, key, kind) if key in d else kind()


def _positive(d: dict, key: str) -> int:
    value = _typed(d, key, int)
    if value < 1:
        raise BundleError(f"manifest {key!r} must be positive, got {value}")
    return value


def _tensors(d: dict, key: str) -> tuple[TensorSpec, ...]:
    items = _typed(d, key, list)
    try:
        specs = tuple(TensorSpec(str(t["name"]), tuple(int(s) for s in t["shape"]), str(t["dtype"])) for t in items)
    except (TypeError, KeyError, ValueError) as e:
        raise BundleError(f"manifest {key!r} entries need name, shape and dtype ({type(e).__name__}: {e})") from None
    if not specs:
        raise BundleError(f"manifest {key!r} is empty")
    return specs


def _safe_relative(name: str) -> PurePosixPath:
    """A bundle path must stay inside the bundle: relative, no '..', no backslashes."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name or name.startswith("~"):
        raise BundleError(f"bundle path {name!r} would escape the bundle folder")
    return path


# --- writing ---------------------------------------------------------------------------------
def write_manifest(directory: Path, manifest: Manifest) -> Manifest:
    """Write `manifest.json`, sealed with its digest; returns the manifest with `digest` set."""
    d = manifest.to_dict()
    (Path(directory) / MANIFEST).write_text(json.dumps(d, indent=2) + "\n")
    return replace(manifest, digest=d["digest"])


def checksums(directory: Path, names: list[str]) -> dict[str, str]:
    return {name: sha256_file(Path(directory) / name) for name in sorted(names)}


def pack(directory: Path, archive: Path) -> Path:
    """Write the bundle directory as a .tar.gz with relative member names only."""
    directory, archive = Path(directory), Path(archive)
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=path.relative_to(directory).as_posix(), recursive=False)
    return archive


# --- reading ---------------------------------------------------------------------------------
def is_bundle(path: str | Path) -> bool:
    path = Path(path)
    return (path / MANIFEST).is_file() or (path.is_file() and path.name.endswith(ARCHIVE_SUFFIXES))


def unpack(archive: Path, destination: Path) -> Path:
    """Extract a bundle archive, refusing any member that is not a plain file or folder
    or whose path would land outside `destination`."""
    destination = Path(destination)
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for m in members:
                _safe_relative(m.name)
                if not (m.isfile() or m.isdir()):
                    raise BundleError(f"{archive}: member {m.name!r} is a link or device; refused")
            tar.extractall(destination, members=members, filter="data")
    except (tarfile.TarError, EOFError, OSError) as e:
        raise BundleError(f"{archive}: not a readable bundle archive ({type(e).__name__}: {e})") from None
    return destination


def load_manifest(directory: str | Path, verify: bool = True) -> Manifest:
    """Read and validate `manifest.json` (its digest included); with `verify`, check every file's sha256."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not directory.is_dir():
        raise BundleError(f"bundle not found: {directory}")
    manifest = Manifest.from_dict(read_json(path, BundleError, f"{directory}: no {MANIFEST}; not an sfc-sdk bundle"))
    if verify:
        verify_files(directory, manifest)
    return manifest


def verify_files(directory: Path, manifest: Manifest) -> None:
    """Refuse a bundle folder whose files are missing or differ from the manifest's sha256s."""
    for name, expected in manifest.files.items():
        file = directory / name
        if not file.is_file():
            raise BundleError(f"{directory}: file {name} listed in the manifest is missing")
        if sha256_file(file) != expected:
            raise BundleError(f"{directory}: checksum mismatch for {name}: the file was changed or corrupted")


@dataclass(frozen=True)
class Bundle:
    """A validated bundle on disk (an archive is unpacked into a temporary folder)."""

    directory: Path
    manifest: Manifest

    @property
    def model_path(self) -> Path:
        return self.directory / self.manifest.model_file

    @property
    def digest(self) -> str:
        """"sha256:<hex>" over the whole bundle (the manifest, which lists every file's sha256)."""
        return self.manifest.digest

    @classmethod
    def open(cls, path: str | Path, expect_digest: str | None = None) -> Bundle:
        """A bundle folder or archive, checked; `expect_digest` (full sha256 hex or a prefix of
        at least 12 hex characters, "sha256:" optional) refuses any bundle but that one."""
        path = Path(path)
        if not (path.is_file() and path.name.endswith(ARCHIVE_SUFFIXES)):
            if not path.exists():
                raise BundleError(f"bundle not found: {path}")
            return cls(path, _checked_manifest(path, path, expect_digest))
        # Kept for the life of the process (runtimes may memory-map the model files), then
        # removed: an I3D archive unpacks 52 MB, once per `predict`. A private temporary
        # folder (mkdtemp: 0700): only this process reads it.
        target = Path(tempfile.mkdtemp(prefix="sfc-bundle-"))
        atexit.register(shutil.rmtree, target, ignore_errors=True)
        try:
            return cls(target, _checked_manifest(unpack(path, target), path, expect_digest))
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)  # a refused archive leaves nothing behind
            raise


def _checked_manifest(directory: Path, source: Path, expect_digest: str | None) -> Manifest:
    """The manifest of the bundle `source` unpacked in `directory`: the pinned digest is
    checked before any file is hashed, so another bundle is refused as that."""
    manifest = load_manifest(directory, verify=False)
    if expect_digest is not None:
        check_digest(manifest.digest, expect_digest, source)
    verify_files(directory, manifest)
    return manifest
