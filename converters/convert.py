"""`convert`: model directory -> checked, self-describing bundle for one target.

    load model -> fixed-shape export module -> converter writes files -> manifest with
    checksums -> run the files in their own runtime against PyTorch on real clips ->
    parity into the manifest (or fail loudly) -> latency here -> move into place

The bundle is assembled in a temporary folder beside the output and renamed at the
end, so an interrupted or failed convert never leaves a half-written bundle.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from sfc_sdk import __version__
from sfc_sdk.bundle import Bundle, Manifest, TensorSpec, checksums, load_manifest, pack, write_manifest
from sfc_sdk.checkpoint import load_model
from sfc_sdk.demo import SAMPLE as SAMPLE_CLIP
from sfc_sdk.errors import ConfigError, ExportError
from sfc_sdk.export import INPUT_NAME, OUTPUT_NAMES, ExportableSFC, ExportShape, export_shape
from sfc_sdk.model import ModelConfig, SFCModel
from sfc_sdk.recognizer import default_model_dir, sfc_input
from sfc_sdk.runtimes import create_runtime
from sfc_sdk.sampling import uniform_indices
from sfc_sdk.video import sample_frames

from .base import ExportRequest, converter_for
from .formats import resolve, targets, with_overrides

VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".mov", ".webm", ".m4v")
MAX_USER_CLIPS = 16

# Minimum top-1 agreement and centred-logit cosine against PyTorch FP32, per precision.
PARITY_THRESHOLDS = {"fp32": (1.0, 0.999), "fp16": (1.0, 0.99), "bf16": (1.0, 0.98), "int8": (0.9, 0.95)}


@dataclass(frozen=True)
class ConvertReport:
    path: Path
    manifest: Manifest
    sizes: dict[str, int]  # file -> bytes
    latency_ms: float  # median model latency on this machine (preprocessed input, no decoding)
    seconds: float  # time the whole convert took


def reference_inputs(spec_frames: int, config: ModelConfig, calib_dir: str | Path | None) -> tuple[list, list[str]]:
    """Real preprocessed inputs for calibration and parity: the bundled sample clip seen
    six ways (whole, first and last two thirds; each also mirrored) plus up to
    MAX_USER_CLIPS videos from `calib_dir`, each sampled over its whole length."""
    spec = config.input_spec
    inputs, sources = [], []

    def add(video: Path, plan: Callable[[int], list[int]], flip: bool, what: str) -> None:
        clip = sample_frames(video, plan, spec.resize_size)
        frames = clip.frames[:, :, ::-1] if flip else clip.frames
        inputs.append(sfc_input(np.ascontiguousarray(frames), spec))
        sources.append(what)

    t = spec_frames
    windows = {"whole": lambda n: uniform_indices(n, t),
               "first 2/3": lambda n: uniform_indices(max(1, 2 * n // 3), t),
               "last 2/3": lambda n: [n // 3 + i for i in uniform_indices(n - n // 3, t)]}
    for name, plan in windows.items():
        for flip in (False, True):
            add(SAMPLE_CLIP, plan, flip, f"sample {name}{' mirrored' if flip else ''}")
    if calib_dir is not None:
        folder = Path(calib_dir)
        if not folder.is_dir():
            raise ConfigError(f"--calib: not a directory: {folder}")
        videos = sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
        if not videos:
            raise ConfigError(f"--calib: no videos ({', '.join(VIDEO_SUFFIXES)}) under {folder}")
        step = max(1, len(videos) // MAX_USER_CLIPS)  # spread over the folder, not its first class
        for video in videos[::step][:MAX_USER_CLIPS]:
            add(video, windows["whole"], False, str(video))
    return inputs, sources


def measure_parity(reference: SFCModel, shape: ExportShape, runtime, inputs: list[np.ndarray]) -> dict:
    """Exported model vs PyTorch FP32 on the same inputs."""
    agree, kept_same, cosines = 0, 0, []
    for x in inputs:
        with torch.inference_mode():
            ref_logits, ref_kept = reference(torch.from_numpy(x), shape.ratio)
        ref_logits, ref_kept = ref_logits.numpy()[0], ref_kept.numpy()[0]
        logits, kept = runtime.run_sfc(x, shape.ratio)
        logits = logits[0]
        agree += int(np.argmax(logits) == np.argmax(ref_logits))
        kept_same += int(np.array_equal(kept[0], ref_kept))
        a, b = logits - logits.mean(), ref_logits - ref_logits.mean()
        cosines.append(float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12)))
    n = len(inputs)
    return {"reference": "torch fp32", "inputs": n, "top1_agreement": agree / n, "kept_agreement": kept_same / n,
            "cosine_min": min(cosines), "cosine_mean": statistics.fmean(cosines)}


def resolve_target(target: str, fmt: str | None, precision: str | None, profiles: Sequence[str | Path] = ()):
    """A format target (onnx, openvino, tflite, tensorrt), or a device, a device family or
    `auto`, whose profile picks format and precision. Returns (format, precision, device)."""
    if target in {t.name for t in targets()}:
        return (*resolve(target, fmt, precision), None)
    from sfc_sdk.devices import resolve_device

    device = resolve_device(target, profiles)
    return (*with_overrides(device.profile.target, device.profile.precision, fmt, precision), device)


def choose_device_ratio(device, model_dir: Path, net: SFCModel, config: ModelConfig, fmt: str, precision: str,
                        ratio: int | None, frames: int | None, latency_ms: float | None) -> tuple[int, dict]:
    """The ratio for a device target, and the record of why, for the manifest."""
    from sfc_sdk.devices import choose_ratio, cost_model_options
    from sfc_sdk.devices.profiler import measured_options, model_id

    profile = device.profile
    budget = latency_ms or profile.latency_budget_ms
    record = {"device": profile.name, "how": device.how, "budget_ms": budget,
              "memory_budget_mb": profile.memory_budget_mb}
    if ratio is not None:
        return ratio, {**record, "ratio": ratio, "reason": f"ratio {ratio} set by the user"}
    measured = None if frames not in (None, config.sfc.frames) else measured_options(
        profile.name, model_id(model_dir), fmt, precision)
    options = measured or cost_model_options(net, config, profile, frames=frames)
    choice = choose_ratio(options, budget, profile.memory_budget_mb, preferred=config.sfc.ratio)
    if not measured:
        record["throughput_source"] = profile.throughput_source
    return choice.option.ratio, {**record, **choice.to_dict()}


def convert(model: str | Path | None, target: str, out: str | Path, *, fmt: str | None = None,
            precision: str | None = None, ratio: int | None = None, frames: int | None = None,
            calib: str | Path | None = None, overwrite: bool = False, latency_ms: float | None = None,
            profiles: Sequence[str | Path] = (), log: Callable[[str], None] = print) -> ConvertReport:
    """Export `model` (a model directory; None: the bundled default) for `target` into `out`
    (a directory, or an archive when it ends in .tar.gz). For a device target, the ratio
    that meets `latency_ms` (default: the device's budget) is chosen unless `ratio` is given."""
    started = time.perf_counter()
    export_format, precision, device = resolve_target(target, fmt, precision, profiles)
    if latency_ms is not None and device is None:
        raise ConfigError("--latency-ms needs a device target (a device, a family such as jetson, or auto)")
    out = Path(out)
    archive = out.name.endswith((".tar.gz", ".tgz"))
    if _occupied(out) and not overwrite:
        raise ConfigError(f"{out} exists; pass --overwrite to replace it")

    model_dir = Path(model) if model is not None else default_model_dir()
    net, config = load_model(model_dir)
    selection: dict = {}
    if device is not None:
        ratio, selection = choose_device_ratio(device, model_dir, net, config, export_format.name, precision, ratio,
                                               frames, latency_ms)
        log(f"device: {device.how}")
        log(f"ratio: {selection['reason']}")
    shape = export_shape(net, config, ratio, frames)
    steps = 5
    log(f"[1/{steps}] {config.name or config.backbone}: {shape.frames} frames at ratio {shape.ratio} -> "
        f"{export_format.name} {precision} for target {target}")
    inputs, sources = reference_inputs(shape.frames, config, calib)

    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".sfc-convert-", dir=out.parent))
    try:
        log(f"[2/{steps}] exporting ({export_format.note.split(';')[0]})")
        request = ExportRequest(precision, shape, calibration=inputs if precision == "int8" else [])
        result = converter_for(export_format).export(ExportableSFC(net, shape.ratio), request, work)

        manifest = Manifest(
            model=config, format=export_format.name, runtime=export_format.runtimes[0], precision=precision,
            target=target, frames=shape.frames, ratio=shape.ratio, head_stride=shape.head_stride,
            model_file=result.model_file,
            inputs=(TensorSpec(INPUT_NAME, shape.input_shape, "float32"),),
            outputs=(TensorSpec(OUTPUT_NAMES[0], (1, config.num_classes), "float32"),
                     TensorSpec(OUTPUT_NAMES[1], (1, shape.kept), "int32")),
            files=checksums(work, list(result.files)), sdk_version=__version__, notes=result.notes,
            selection=selection,
        )
        write_manifest(work, manifest)

        log(f"[3/{steps}] parity against PyTorch on {len(inputs)} real clip inputs")
        runtime = _parity_runtime(work, export_format.runtimes)
        parity = measure_parity(net, shape, runtime, inputs)
        parity["runtime"] = f"{runtime.info().name}/{runtime.info().device}"
        parity["sources"] = sorted({s.split(" ")[0] if s.startswith("sample") else "calib" for s in sources})
        min_agree, min_cos = PARITY_THRESHOLDS[precision]
        parity["thresholds"] = {"top1_agreement": min_agree, "cosine_min": min_cos}
        if parity["top1_agreement"] < min_agree or parity["cosine_min"] < min_cos:
            raise ExportError(
                f"{export_format.name} {precision} export does not match PyTorch: top-1 agreement "
                f"{parity['top1_agreement']:.0%} (need {min_agree:.0%}), centred-logit cosine min "
                f"{parity['cosine_min']:.4f} (need {min_cos}); the bundle was not written")

        log(f"[4/{steps}] latency on this machine")
        latency = statistics.median(runtime.time_sfc(inputs[0], shape.ratio, runs=10, warmup=1))
        del runtime  # release the model files before moving them
        manifest = replace(manifest, parity=parity)
        write_manifest(work, manifest)

        log(f"[5/{steps}] writing {out}")
        if out.exists():
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        if archive:
            pack(work, out)
        else:
            work.rename(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sizes = {name: (Path(out) / name).stat().st_size for name in manifest.files} if not archive \
        else {out.name: out.stat().st_size}
    return ConvertReport(out, manifest, sizes, latency, time.perf_counter() - started)


def _parity_runtime(directory: Path, runtimes: tuple[str, ...]):
    """The bundle's own runtime where usable here; TensorRT bundles fall back to ONNX Runtime."""
    return create_runtime(list(runtimes), Bundle(directory, load_manifest(directory)), device="auto")


def _occupied(out: Path) -> bool:
    return out.is_file() or (out.is_dir() and any(out.iterdir()))
