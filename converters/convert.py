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
by `sfc_sdk.devices.deploy.convert` (`sfc_sdk.convert`, `sfc-sdk convert`), which then
calls this.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ..bundle import Bundle, Manifest, ShortInput, TensorSpec, checksums, pack, write_manifest
from ..defaults import SAMPLE_CLIP, __version__, default_model_dir
from ..errors import ConfigError, ExportError
from ..formats import ExportFormat
from ..model import load_model
from ..runtimes import Runtime, create_runtime
from ..runtimes.registry import runtime_order
from .base import ExportRequest, converter_for, model_file_metadata
from .export_jobs import run_exports
from .exportable import INPUT_NAME, OUTPUT_NAMES, export_shape, short_shapes
from .parity import PARITY_THRESHOLDS, calibration_videos, measure_parity, reference_inputs


@dataclass(frozen=True)
class ConvertReport:
    path: Path
    manifest: Manifest
    sizes: dict[str, int]  # file -> bytes
    latency_ms: float  # median model latency on this machine (preprocessed input, no decoding)
    latency_runs: int  # how many calls the median is of (fewer where one call takes seconds)
    seconds: float  # time the whole export took


def export_bundle(model: str | Path | None, export_format: ExportFormat, precision: str, out: str | Path, *,
                  target: str | None = None, ratio: int | None = None, frames: int | None = None,
                  calib: str | Path | None = None, overwrite: bool = False, selection: dict | None = None,
                  runtime_versions: tuple[str, ...] = (), log: Callable[[str], None] = print) -> ConvertReport:
    """Export `model` (a model directory; None: the bundled default) as `export_format` at
    `precision` into `out` (a directory, or an archive when it ends in .tar.gz). `target`
    (what the user asked for) and `selection` (how a device target chose the ratio) are
    recorded in the manifest; `runtime_versions`: the releases of the format's runtime the
    files must load in (TensorRT: the device's; empty: every release the converter knows)."""
    started = time.perf_counter()
    out = Path(out)
    archive = out.name.endswith((".tar.gz", ".tgz"))
    check_output(out, overwrite)
    if calib is not None:
        calibration_videos(calib)  # a missing or empty folder: one line now, not after loading the model

    model_dir = Path(model) if model is not None else default_model_dir()
    net, config = load_model(model_dir)
    shape = export_shape(net, config, ratio, frames)
    steps = 6
    log(f"[1/{steps}] {config.name or config.backbone}: {shape.frames} frames at ratio {shape.ratio} -> "
        f"{export_format.name} {precision} for target {target or export_format.name}")
    if precision == "int8" and calib is None:
        log(f"int8: calibrating on the bundled sample clip only ({SAMPLE_CLIP.name}, seen 6 ways); pass "
            "--calib DIR, a folder of your own videos, to calibrate on what the model will see")
    inputs, sources = reference_inputs(shape.frames, config, calib)

    out.parent.mkdir(parents=True, exist_ok=True)
    work = _new_path(out.parent, ".sfc-convert-", "", Path.mkdir)
    part = None  # the archive, packed beside `out` and renamed
    try:
        # The main input and shorter static ones, so videos shorter than the main input are
        # sampled once per frame at a lower ratio, as the PyTorch path does, instead of
        # repeating frames. Each is its own export, of the same network.
        shorts = short_shapes(net, shape)
        log(f"[2/{steps}] exporting {1 + len(shorts)} input lengths ({export_format.note.split(';')[0]})")
        converter = converter_for(export_format)
        request = ExportRequest(precision, shape, calibration=inputs if precision == "int8" else [],
                                metadata=model_file_metadata(config, shape), runtime_versions=runtime_versions,
                                model_id=model_digest(model_dir))
        # INT8 calibrates each short export on its own inputs; otherwise they are made only
        # for its parity check, one length at a time (256-frame I3D inputs are 154 MB each).
        short_refs = {s: reference_inputs(s.frames, config, calib)[0] for s in shorts} if precision == "int8" else {}
        jobs = [(request, work)]
        for short in shorts:
            (work / f"frames-{short.frames}").mkdir()
            jobs.append((replace(request, shape=short, calibration=short_refs[short] if precision == "int8" else [],
                                 metadata=model_file_metadata(config, short)), work / f"frames-{short.frames}"))
        result, *short_results = run_exports(converter, net, model_dir, jobs)
        files, short_entries = list(result.files), []  # short_entries: the manifest's
        for short, sub in zip(shorts, short_results, strict=True):
            folder = f"frames-{short.frames}"
            files += [f"{folder}/{name}" for name in sub.files]
            short_entries.append(ShortInput(short.frames, short.ratio, f"{folder}/{sub.model_file}"))

        manifest = Manifest(
            model=config, format=export_format.name, runtime=export_format.runtimes[0], precision=precision,
            target=target or export_format.name, frames=shape.frames, ratio=shape.ratio,
            head_stride=shape.head_stride, model_file=result.model_file,
            inputs=(TensorSpec(INPUT_NAME, shape.input_shape, "float32"),),
            outputs=(TensorSpec(OUTPUT_NAMES[0], (1, config.num_classes), "float32"),
                     TensorSpec(OUTPUT_NAMES[1], (1, shape.kept), "int32")),
            files=checksums(work, files), sdk_version=__version__, notes=result.notes,
            selection=selection or {}, short_inputs=tuple(short_entries), compatibility=result.compatibility,
        )
        manifest = write_manifest(work, manifest)

        log(f"[3/{steps}] parity against PyTorch on {len(inputs)} real clip inputs")
        min_agree, min_cos = PARITY_THRESHOLDS[precision]
        runtime = _parity_runtime(work, manifest)
        parity = measure_parity(net, shape, runtime, inputs)
        parity["runtime"] = runtime.info().label  # what ran: a TensorRT bundle's FP32 ONNX in ONNX Runtime
        parity["sources"] = sorted({s.split(" ")[0] if s.startswith("sample") else "calib" for s in sources})
        parity["thresholds"] = {"top1_agreement": min_agree, "cosine_min": min_cos}
        _check_parity(parity, f"{shape.frames} frames", export_format.name, precision)

        log(f"[4/{steps}] latency on this machine")
        timings = runtime.time_sfc(inputs[0], shape.ratio, runs=10, warmup=1, budget_s=10)
        del runtime  # its buffers, before the next runtime makes its own

        if shorts:
            log(f"[5/{steps}] parity at the shorter input lengths ({', '.join(str(s.frames) for s in shorts)} frames)")
        parity["short_inputs"] = []
        for short in shorts:  # one runtime at a time: each holds buffers sized for its input
            # INT8's agreement is a rate: all its inputs. A float graph, the same network at
            # another length, is checked on three (its cosine threshold decides).
            if precision == "int8":
                refs = short_refs[short]
            else:
                made = reference_inputs(short.frames, config, calib)[0]
                refs = made[:1] + made[-2:]
            short_runtime = _parity_runtime(work, manifest.for_input(short.frames, short.ratio))
            p = {"frames": short.frames, "ratio": short.ratio, **measure_parity(net, short, short_runtime, refs)}
            del short_runtime
            _check_parity(p, f"{short.frames} frames", export_format.name, precision)
            parity["short_inputs"].append(p)
        manifest = write_manifest(work, replace(manifest, parity=parity))  # sealed: manifest.digest

        log(f"[6/{steps}] writing {out}")
        if archive:
            part = _new_path(out.parent, f".{out.name}.", ".part", Path.touch)
            pack(work, part)
        if out.exists():
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        if part is not None:
            os.replace(part, out)
        else:
            work.rename(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if part is not None:
            part.unlink(missing_ok=True)  # gone once renamed; a failed pack's remains otherwise
    sizes = {name: (Path(out) / name).stat().st_size for name in manifest.files} if not archive \
        else {out.name: out.stat().st_size}
    return ConvertReport(out, manifest, sizes, statistics.median(timings), len(timings),
                         time.perf_counter() - started)


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


def model_digest(model_dir: Path) -> str:
    """sha256 over a model directory's files (config and weights): what its exports depend on."""
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
