"""`convert` (public as `sfc_sdk.convert`, run by `sfc-sdk convert`): export a model for a
target: a format (onnx, openvino, ...), a device (jetson-orin-nano), a device family
(jetson) or `auto` (this machine).

A device's profile picks the format and precision, and the compression ratio that meets
its latency budget: from `sfc-sdk profile` measurements of that device and weights when
stored (`measure.py`), else from the cost model (GMACs / the device's planning
throughput). The export itself, for the format chosen, is `sfc_sdk.converters.export_bundle`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from ..config import ModelConfig
from ..converters import ExportReport, calibration_videos, check_output, export_bundle
from ..converters.tensorrt_compat import tensorrt_releases
from ..defaults import default_model_dir
from ..errors import ConfigError
from ..formats import ExportFormat, get_format, is_format_target, resolve, with_overrides
from ..model import SFCModel, load_model
from .detect import read_host
from .measure import measured_here, measured_options, weights_id
from .planner import choose_ratio, cost_model_options
from .registry import ResolvedDevice, resolve_device
from .runtime_choice import choose_measured, probe_runtimes


def resolve_target(target: str, fmt: str | None, precision: str | None, profiles: Sequence[str | Path] = (),
                   calib: bool = False) -> tuple[ExportFormat, str, ResolvedDevice | None]:
    """A format target, or a device, a device family or `auto`, whose profile picks format
    and precision (`auto`: the fastest runtime installed here; INT8 where `calib`ration
    clips are given and the runtime offers it). Returns (format, precision, device or None)."""
    if is_format_target(target):
        return (*resolve(target, fmt, precision), None)
    device = resolve_device(target, profiles, calib=calib)
    return (*with_overrides(device.profile.target, device.profile.precision, fmt, precision), device)


def choose_device_ratio(device: ResolvedDevice, model_dir: Path, net: SFCModel, config: ModelConfig, fmt: str,
                        precision: str, ratio: int | None, frames: int | None, latency_ms: float | None
                        ) -> tuple[int, dict]:
    """The ratio for a device target, and the record of why, for the manifest."""
    profile = device.profile
    budget = latency_ms or profile.latency_budget_ms
    record = {"device": profile.name, "how": device.how, "budget_ms": budget,
              "memory_budget_mb": profile.memory_budget_mb}
    if ratio is not None:
        return ratio, {**record, "ratio": ratio, "reason": f"ratio {ratio} set by the user"}
    measured = None if frames not in (None, config.sfc.frames) else measured_options(
        profile.name, weights_id(model_dir), fmt, precision)
    options = measured or cost_model_options(net, config, profile, frames=frames)
    choice = choose_ratio(options, budget, profile.memory_budget_mb, preferred=config.sfc.ratio)
    if not measured:
        record["throughput_source"] = profile.throughput_source
    return choice.option.ratio, {**record, **choice.to_dict()}


def prefer_measured(device: ResolvedDevice, export_format: ExportFormat, precision: str, model_dir: Path,
                    ratio: int, calib: bool) -> tuple[ResolvedDevice, ExportFormat, str]:
    """`auto`'s choice replaced by the fastest configuration `sfc-sdk profile` measured for
    this model on this machine, where there is one; `how` then says so."""
    measured = choose_measured(measured_here(weights_id(model_dir)), ratio, probe_runtimes(), calib)
    if measured is None:
        return device, export_format, precision
    profile = replace(device.profile, target=measured.format, precision=measured.precision)
    detected = device.how.split("; runtime:")[0]
    return ResolvedDevice(profile, f"{detected}; runtime: {measured.reason}"), get_format(measured.format), \
        measured.precision


def convert(model: str | Path | None, target: str, out: str | Path, *, fmt: str | None = None,
            precision: str | None = None, ratio: int | None = None, frames: int | None = None,
            calib: str | Path | None = None, overwrite: bool = False, latency_ms: float | None = None,
            profiles: Sequence[str | Path] = (), log: Callable[[str], None] = print) -> ExportReport:
    """Export `model` (a model directory; None: the bundled default) for `target` into `out`
    (a directory, or an archive when it ends in .tar.gz). For a device target, the ratio
    that meets `latency_ms` (default: the device's budget) is chosen unless `ratio` is
    given."""
    precision_asked = precision
    export_format, precision, device = resolve_target(target, fmt, precision, profiles, calib=calib is not None)
    if latency_ms is not None and device is None:
        raise ConfigError("--latency-ms needs a device target (a device, a family such as jetson, or auto)")
    check_output(out, overwrite)  # before any choice is made and logged
    if calib is not None:
        calibration_videos(calib)
    selection: dict = {}
    versions: tuple[str, ...] = ()
    if device is not None:
        model_dir = Path(model) if model is not None else default_model_dir()
        net, config = load_model(model_dir)
        if target == "auto" and fmt is None and precision_asked is None:
            device, export_format, precision = prefer_measured(device, export_format, precision, model_dir,
                                                               ratio or config.sfc.ratio, calib is not None)
        ratio, selection = choose_device_ratio(device, model_dir, net, config, export_format.name, precision, ratio,
                                               frames, latency_ms)
        log(f"device: {device.how}")
        log(f"ratio: {selection['reason']}")
        if export_format.name == "tensorrt" and device.profile.tensorrt:
            # The device's release and every later one: a JetPack upgrade keeps the bundle usable.
            versions = tuple(tensorrt_releases(since=device.profile.tensorrt))
            log(f"TensorRT {device.profile.tensorrt} (JetPack {device.profile.jetpack or '?'}): ONNX fitted to "
                f"TensorRT {', '.join(versions)}")
    return export_bundle(model, export_format, precision, out, target=target, ratio=ratio, frames=frames,
                         calib=calib, overwrite=overwrite, selection=selection, runtime_versions=versions, log=log)


def ratio_for_stream(target: str, net: SFCModel, config: ModelConfig, model_dir: Path, stride_s: float, *,
                     on_gpu: bool, profiles: Sequence[str | Path] = ()) -> tuple[int, str]:
    """The ratio a device profile picks so each live window fits the stride (it must keep up).
    `on_gpu`: whether the model runs on a GPU here; `auto` then plans for this machine as it
    runs the model (a CPU-only PyTorch on a GPU machine plans as a CPU)."""
    facts = None if on_gpu or target != "auto" else read_host(cuda=False)
    device = resolve_device(target, profiles, facts=facts)
    budget = min(device.profile.latency_budget_ms, stride_s * 1000)
    ratio, record = choose_device_ratio(device, model_dir, net, config, device.profile.target,
                                        device.profile.precision, None, None, budget)
    return ratio, f"device {device.profile.name} ({device.how}): ratio {ratio}, {record.get('reason', '')}"
