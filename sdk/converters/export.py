"""`export_bundle`: model directory -> checked, self-describing bundle in one format.

    load model -> fixed-shape export module -> converter writes files -> manifest with
    checksums -> run the files in their own runtime against PyTorch on real clips ->
    parity into the manifest (or fail loudly) -> latency here -> parity of each shorter
    input -> move into place

The bundle is assembled in a temporary folder beside the output and renamed at the
end (an archive: packed beside it and renamed), so an interrupted or failed export never
leaves a half-written bundle. Both are made with the user's umask, not mkdtemp's private
0700, so other users and service accounts read the bundle where the umask lets them. Targets
that are devices (a Jetson, `auto`, ...) are resolved to a format, precision and ratio
by `sfc_sdk.devices.convert.convert` (`sfc_sdk.convert`, `sfc-sdk convert`), which then
calls this.

The steps are functions of their own: `_prepare` (model, shape, reference inputs),
`_export_files` (converter runs, manifest), `_check_exports` (parity and latency),
`_move_into_place`; `ExportOptions` carries what the caller chose, checked when made.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..bundle import Bundle, Manifest, ShortInput, TensorSpec, checksums, pack, write_manifest
from ..config import ModelConfig
from ..defaults import SAMPLE_CLIP, __version__, default_model_dir
from ..errors import ConfigError, ExportError
from ..formats import ExportFormat
from ..model import SFCModel, load_model
from ..runtimes import Runtime, create_runtime
from ..runtimes.registry import runtime_order
from .base import ExportRequest, converter_for, model_file_metadata
from .export_jobs import run_exports
from .exportable import INPUT_NAME, OUTPUT_NAMES, ExportShape, export_shape, short_shapes
from .parity import PARITY_THRESHOLDS, calibration_videos, measure_parity, reference_inputs, runtime_input

STEPS = 6


@dataclass(frozen=True)
class ExportReport:
    """What `export_bundle` (and `sfc_sdk.convert`) made."""
    path: Path
    manifest: Manifest
    sizes: dict[str, int]  # file -> bytes
    latency_ms: float  # median model latency on this machine (preprocessed input, no decoding)
    latency_runs: int  # how many calls the median is of (fewer where one call takes seconds)
    seconds: float  # time the whole export took


@dataclass(frozen=True)
class ExportOptions:
    """How `export_bundle` exports, checked when made: a bad value is one ConfigError line
    before the model is loaded."""
    export_format: ExportFormat
    precision: str  # one of export_format.precisions
    target: str | None = None  # what the user asked for, for the manifest (None: the format's name)
    ratio: int | None = None  # compression ratio baked in (None: the model's)
    frames: int | None = None  # input frames baked in (None: the model's)
    calib: str | Path | None = None  # folder of the user's videos for INT8 calibration and parity
    overwrite: bool = False  # replace an existing output
    selection: dict = field(default_factory=dict)  # how a device target chose the ratio, for the manifest
    # Releases of the format's runtime the files must load in (TensorRT: the device's; empty:
    # every release the converter knows).
    runtime_versions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        fmt = self.export_format
        if not isinstance(fmt, ExportFormat):
            raise ConfigError(f"export_format must be an ExportFormat (sfc_sdk.formats.get_format), got {fmt!r}")
        if self.precision not in fmt.precisions:
            raise ConfigError(f"{fmt.name} offers {', '.join(fmt.precisions)}, not {self.precision!r}")
        for name in ("ratio", "frames"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be a positive whole number, got {value!r}")
        object.__setattr__(self, "selection", dict(self.selection or {}))
        object.__setattr__(self, "runtime_versions", tuple(self.runtime_versions))
        if self.calib is not None:
            calibration_videos(self.calib)  # a missing or empty folder: one line now, not after loading the model

    @property
    def int8(self) -> bool:
        return self.precision == "int8"


def export_bundle(model: str | Path | None, export_format: ExportFormat, precision: str, out: str | Path, *,
                  target: str | None = None, ratio: int | None = None, frames: int | None = None,
                  calib: str | Path | None = None, overwrite: bool = False, selection: dict | None = None,
                  runtime_versions: tuple[str, ...] = (), log: Callable[[str], None] = print) -> ExportReport:
    """Export `model` (a model directory; None: the bundled default) as `export_format` at
    `precision` into `out` (a directory, or an archive when it ends in .tar.gz). The other
    arguments are `ExportOptions`' fields (see there), checked before the model loads."""
    opts = ExportOptions(export_format, precision, target=target, ratio=ratio, frames=frames, calib=calib,
                         overwrite=overwrite, selection=selection or {}, runtime_versions=runtime_versions)
    model_dir = Path(model) if model is not None else default_model_dir()
    return _export(model_dir, Path(out), opts, log)


@dataclass
class _Job:
    """One export's model, shapes and reference inputs, as its steps pass them along."""
    opts: ExportOptions
    model_dir: Path
    net: SFCModel
    config: ModelConfig
    shape: ExportShape
    inputs: list[np.ndarray]  # real preprocessed clips: calibration (INT8) and parity
    sources: list[str]  # where each input comes from
    shorts: list[ExportShape] = field(default_factory=list)  # the shorter inputs the bundle carries
    short_refs: dict[ExportShape, list[np.ndarray]] = field(default_factory=dict)  # INT8: each short's inputs


def _export(model_dir: Path, out: Path, opts: ExportOptions, log: Callable[[str], None]) -> ExportReport:
    """load model -> fixed-shape export module -> converter writes files -> manifest with
    checksums -> parity and latency here -> move into place."""
    started = time.perf_counter()
    archive = out.name.endswith((".tar.gz", ".tgz"))
    check_output(out, opts.overwrite)
    job = _prepare(model_dir, opts, log)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = _new_path(out.parent, ".sfc-convert-", "", Path.mkdir)
    try:
        manifest = _export_files(job, work, log)
        parity, timings = _check_exports(job, work, manifest, log)
        manifest = write_manifest(work, replace(manifest, parity=parity))  # sealed: manifest.digest
        log(f"[6/{STEPS}] writing {out}")
        _move_into_place(work, out, archive)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sizes = {name: (out / name).stat().st_size for name in manifest.files} if not archive \
        else {out.name: out.stat().st_size}
    return ExportReport(out, manifest, sizes, statistics.median(timings), len(timings),
                        time.perf_counter() - started)


def _prepare(model_dir: Path, opts: ExportOptions, log: Callable[[str], None]) -> _Job:
    """The model, the shape it is exported at, and the real clip inputs it is checked on."""
    net, config = load_model(model_dir)
    shape = export_shape(net, config, opts.ratio, opts.frames)
    fmt = opts.export_format
    log(f"[1/{STEPS}] {config.name or config.backbone}: {shape.frames} frames at ratio {shape.ratio} -> "
        f"{fmt.name} {opts.precision} for target {opts.target or fmt.name}")
    if opts.int8 and opts.calib is None:
        log(f"int8: calibrating on the bundled sample clip only ({SAMPLE_CLIP.name}, seen 6 ways); pass "
            "--calib DIR, a folder of your own videos, to calibrate on what the model will see")
    inputs, sources = reference_inputs(shape.frames, config, opts.calib)
    return _Job(opts, model_dir, net, config, shape, inputs, sources)


def _export_files(job: _Job, work: Path, log: Callable[[str], None]) -> Manifest:
    """The converter's files for the main input and each shorter one, and the manifest over
    them (parity still empty)."""
    opts, config, shape = job.opts, job.config, job.shape
    # The main input and shorter static ones, so videos shorter than the main input are
    # sampled once per frame at a lower ratio, as the PyTorch path does, instead of
    # repeating frames. Each is its own export, of the same network.
    job.shorts = short_shapes(job.net, shape)
    log(f"[2/{STEPS}] exporting {1 + len(job.shorts)} input lengths ({opts.export_format.note.split(';')[0]})")
    converter = converter_for(opts.export_format)
    request = ExportRequest(opts.precision, shape, calibration=job.inputs if opts.int8 else [],
                            metadata=model_file_metadata(config, shape), runtime_versions=opts.runtime_versions,
                            model_dir_sha256=model_dir_sha256(job.model_dir))
    # INT8 calibrates each short export on its own inputs; otherwise they are made only
    # for its parity check, one length at a time (256-frame I3D inputs are 154 MB each).
    job.short_refs = {s: reference_inputs(s.frames, config, opts.calib)[0] for s in job.shorts} if opts.int8 else {}
    jobs = [(request, work)]
    for short in job.shorts:
        (work / f"frames-{short.frames}").mkdir()
        jobs.append((replace(request, shape=short, calibration=job.short_refs.get(short, []),
                             metadata=model_file_metadata(config, short)), work / f"frames-{short.frames}"))
    result, *short_results = run_exports(converter, job.net, job.model_dir, jobs)
    files, short_entries = list(result.files), []  # short_entries: the manifest's
    for short, sub in zip(job.shorts, short_results, strict=True):
        folder = f"frames-{short.frames}"
        files += [f"{folder}/{name}" for name in sub.files]
        short_entries.append(ShortInput(short.frames, short.ratio, f"{folder}/{sub.model_file}"))

    fmt = opts.export_format
    manifest = Manifest(
        model=config, format=fmt.name, runtime=fmt.runtimes[0], precision=opts.precision,
        target=opts.target or fmt.name, frames=shape.frames, ratio=shape.ratio,
        head_stride=shape.head_stride, model_file=result.model_file,
        inputs=(TensorSpec(INPUT_NAME, shape.input_shape, "float32"),),
        outputs=(TensorSpec(OUTPUT_NAMES[0], (1, config.num_classes), "float32"),
                 TensorSpec(OUTPUT_NAMES[1], (1, shape.kept), "int32")),
        files=checksums(work, files), sdk_version=__version__, notes=result.notes,
        selection=opts.selection, short_inputs=tuple(short_entries), compatibility=result.compatibility,
    )
    return write_manifest(work, manifest)


def _check_exports(job: _Job, work: Path, manifest: Manifest, log: Callable[[str], None]
                   ) -> tuple[dict, list[float]]:
    """Parity against PyTorch of the main input and each shorter one (an ExportError where
    one falls short), and the main input's latency here: (parity, latency timings)."""
    opts, shape = job.opts, job.shape
    fmt, precision = opts.export_format.name, opts.precision
    log(f"[3/{STEPS}] parity against PyTorch on {len(job.inputs)} real clip inputs")
    min_agree, min_cos = PARITY_THRESHOLDS[precision]
    runtime = _parity_runtime(work, manifest)
    parity = measure_parity(job.net, shape, runtime, job.inputs)
    parity["runtime"] = runtime.info().label  # what ran: a TensorRT bundle's FP32 ONNX in ONNX Runtime
    parity["sources"] = sorted({s.split(" ")[0] if s.startswith("sample") else "calib" for s in job.sources})
    parity["thresholds"] = {"top1_agreement": min_agree, "cosine_min": min_cos}
    _check_parity(parity, f"{shape.frames} frames", fmt, precision)

    log(f"[4/{STEPS}] latency on this machine")
    timings = runtime.time_sfc(runtime_input(job.inputs[0], runtime), shape.ratio, runs=10, warmup=1, budget_s=10)
    del runtime  # its buffers, before the next runtime makes its own

    if job.shorts:
        log(f"[5/{STEPS}] parity at the shorter input lengths ({', '.join(str(s.frames) for s in job.shorts)} frames)")
    parity["short_inputs"] = []
    for short in job.shorts:  # one runtime at a time: each holds buffers sized for its input
        # INT8's agreement is a rate: all its inputs. A float graph, the same network at
        # another length, is checked on three (its cosine threshold decides).
        if opts.int8:
            refs = job.short_refs[short]
        else:
            made = reference_inputs(short.frames, job.config, opts.calib)[0]
            refs = made[:1] + made[-2:]
        short_runtime = _parity_runtime(work, manifest.for_input(short.frames, short.ratio))
        p = {"frames": short.frames, "ratio": short.ratio, **measure_parity(job.net, short, short_runtime, refs)}
        del short_runtime
        _check_parity(p, f"{short.frames} frames", fmt, precision)
        parity["short_inputs"].append(p)
    return parity, timings


def _move_into_place(work: Path, out: Path, archive: bool) -> None:
    """`work` becomes `out` (packed into it where `out` is an archive), replacing what was
    there only now that the new bundle is complete."""
    part = _new_path(out.parent, f".{out.name}.", ".part", Path.touch) if archive else None
    try:
        if part is not None:
            pack(work, part)
        if out.exists():
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        if part is not None:
            os.replace(part, out)
        else:
            work.rename(out)
    finally:
        if part is not None:
            part.unlink(missing_ok=True)  # gone once renamed; a failed pack's remains otherwise


def _new_path(parent: Path, prefix: str, suffix: str, create: Callable[..., None]) -> Path:
    """A new folder (create=Path.mkdir) or empty file (Path.touch) under `parent`, made with the
    user's umask: tempfile's mkdtemp and mkstemp make them 0700/0600, and the bundle is this
    folder renamed, which other users and services (a deployment's service account) must read."""
    while True:
        path = parent / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            create(path, exist_ok=False)
            return path
        except FileExistsError:  # 48 random bits: another export's name, practically never
            continue


def model_dir_sha256(model_dir: Path) -> str:
    """sha256 over a model directory's files (config and weights): what its exports depend
    on. (Not the measurements' `weights_id`, a prefix of the weights file's sha256.)"""
    digest = hashlib.sha256()
    for f in sorted(p for p in model_dir.iterdir() if p.is_file()):
        digest.update(f.name.encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()


def _parity_runtime(directory: Path, manifest: Manifest) -> Runtime:
    """The runtime a Recognizer would run `manifest`'s input on here (`runtime_order`: the
    bundle's own where usable, else its fallbacks; a TensorRT bundle's is ONNX Runtime)."""
    bundle = Bundle(directory, manifest)
    return create_runtime(runtime_order(bundle), bundle, device="auto")


def _check_parity(parity: dict, what: str, fmt: str, precision: str) -> None:
    min_agree, min_cos = PARITY_THRESHOLDS[precision]
    if parity["top1_agreement"] < min_agree or parity["cosine_min"] < min_cos:
        raise ExportError(
            f"{fmt} {precision} export does not match PyTorch at {what}: top-1 agreement "
            f"{parity['top1_agreement']:.0%} (need {min_agree:.0%}), centred-logit cosine min "
            f"{parity['cosine_min']:.4f} (need {min_cos}); the bundle was not written")


def check_output(out: str | Path, overwrite: bool) -> None:
    """Refuse to write over an existing bundle (a file, or a folder that is not empty) unless asked."""
    out = Path(out)
    if not overwrite and (out.is_file() or (out.is_dir() and any(out.iterdir()))):
        raise ConfigError(f"{out} exists; pass --overwrite to replace it")
