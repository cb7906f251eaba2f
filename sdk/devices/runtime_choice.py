"""`--target auto`: the fastest runtime this machine has, asked of the runtimes themselves.

A detected device profile says what such a device usually runs (generic-cpu: ONNX Runtime
FP32). On the machine itself we can do better: ask which runtimes are installed and what
they can do, and take the fastest kind there:

* an NVIDIA GPU (a Jetson, or a CUDA GPU the driver reports): TensorRT where it is
  installed, else ONNX Runtime's CUDA provider (an ONNX bundle in FP16);
* an x86 CPU with OpenVINO installed: OpenVINO, INT8 when calibration clips are given,
  else BF16 where OpenVINO's CPU lists BF16 among its OPTIMIZATION_CAPABILITIES, else
  FP32 (measured here: OpenVINO 4.7x faster than ONNX Runtime on the first bundled model,
  BF16 1.7-1.9x on the 3D ShuffleNet, benchmarks/results/runtimes.md);
* an ARM CPU with LiteRT installed: LiteRT;
* otherwise the profile's own choice.

Measured beats assumed: where `sfc-sdk profile` has stored measurements of the model on
this machine (`choose_measured`), the fastest measured format and precision at the
model's ratio is taken instead, among those as accurate as the best measured (within
MAX_TOP1_LOSS where top-1 was measured).

Every choice carries its reason, which `convert` records in the bundle's manifest.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..formats import export_formats, list_runtimes
from .detect import HostFacts
from .device_profile import DeviceProfile

X86_VENDORS = ("GenuineIntel", "AuthenticAMD", "HygonGenuine")
MAX_TOP1_LOSS = 0.02  # a measured configuration this much less accurate than the best is not chosen for speed
GPU_FAMILIES = ("jetson", "cuda")


@dataclass(frozen=True)
class RuntimeProbe:
    """What this machine's runtimes say about themselves."""

    installed: tuple[str, ...]  # runtime names (sfc_sdk.formats.RUNTIMES) importable here
    openvino_cpu: tuple[str, ...] = ()  # OpenVINO CPU OPTIMIZATION_CAPABILITIES (BF16, FP16, INT8, ...)
    onnxruntime_providers: tuple[str, ...] = ()  # ONNX Runtime's available execution providers


@dataclass(frozen=True)
class AutoChoice:
    format: str
    precision: str
    reason: str


def probe_runtimes() -> RuntimeProbe:
    """Ask the installed runtimes (imported here only, and only if installed)."""
    installed = tuple(r.name for r in list_runtimes() if r.installed())
    caps: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    if "openvino" in installed:
        try:
            import openvino as ov

            caps = tuple(ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
        except Exception:  # noqa: BLE001 - a broken install answers nothing; the choice then skips it
            installed = tuple(n for n in installed if n != "openvino")
    if "onnxruntime" in installed:
        import onnxruntime as ort

        providers = tuple(ort.get_available_providers())
    return RuntimeProbe(installed, caps, providers)


def choose_auto(profile: DeviceProfile, facts: HostFacts, probe: RuntimeProbe, calib: bool = False) -> AutoChoice:
    """The format and precision `--target auto` exports for the detected `profile` on the
    machine described by `facts`, with what `probe` says is installed there."""
    own = AutoChoice(profile.target, profile.precision, f"{profile.name}'s own choice, {profile.target} "
                                                        f"{profile.precision}")
    if facts.cuda or facts.tegra_release or profile.family in GPU_FAMILIES:
        if "tensorrt" in probe.installed:
            return AutoChoice("tensorrt", "fp16", "NVIDIA GPU with TensorRT installed: tensorrt fp16")
        if "CUDAExecutionProvider" in probe.onnxruntime_providers:
            return AutoChoice("onnx", "fp16", "NVIDIA GPU, no TensorRT, ONNX Runtime with its CUDA provider: onnx fp16")
        return AutoChoice(own.format, own.precision, f"NVIDIA GPU, but neither TensorRT nor ONNX Runtime CUDA is "
                                                     f"installed here: {own.reason}")
    if facts.cpu_vendor in X86_VENDORS and "openvino" in probe.installed:
        caps = ", ".join(probe.openvino_cpu) or "none reported"
        if calib:
            precision, why = "int8", "calibration clips given"
        elif "BF16" in probe.openvino_cpu:
            precision, why = "bf16", "the CPU runs BF16; INT8 needs calibration clips (--calib)"
        else:
            precision, why = "fp32", "no BF16 on this CPU; INT8 needs calibration clips (--calib)"
        return AutoChoice("openvino", precision, f"x86 CPU ({facts.cpu_vendor}) with OpenVINO installed "
                                                 f"(CPU capabilities: {caps}): openvino {precision}, {why}")
    if facts.cpu_vendor == "ARM" and "tflite" in probe.installed:
        return AutoChoice("tflite", "fp32", "ARM CPU with LiteRT installed: tflite fp32")
    return AutoChoice(own.format, own.precision, f"nothing faster installed here: {own.reason}")


def choose_measured(rows: list[dict], ratio: int, probe: RuntimeProbe, calib: bool = False) -> AutoChoice | None:
    """The fastest of `rows` (stored `sfc-sdk profile` measurements on this machine) at
    `ratio` whose format runs here, None when there is none. INT8 only with calibration
    clips (measured INT8 was calibrated on the measurement's clips, an export without them
    is not the same model)."""
    formats = _formats(probe)
    usable = [r for r in rows if r.get("ratio") == ratio and r.get("format") in formats
              and (calib or r.get("precision") != "int8")]
    if not usable:
        return None
    scored = [r["top1"] for r in usable if isinstance(r.get("top1"), (int, float))]
    if scored:
        usable = [r for r in usable if r.get("top1") is None or r["top1"] >= max(scored) - MAX_TOP1_LOSS]
    best = min(usable, key=lambda r: r["latency_ms"])
    others = ", ".join(f"{r['format']} {r['precision']} {r['latency_ms']:.1f} ms" for r in
                       sorted(usable, key=lambda r: r["latency_ms"]) if r is not best)
    return AutoChoice(best["format"], best["precision"],
                      f"measured on this machine by sfc-sdk profile ({best.get('date', '?')}): {best['format']} "
                      f"{best['precision']} {best['latency_ms']:.1f} ms at ratio {ratio}, the fastest"
                      + (f" (also measured: {others})" if others else ""))


def _formats(probe: RuntimeProbe) -> set[str]:
    """Export formats whose preferred runtime is installed here."""
    return {f.name for f in export_formats() if f.runtimes[0] in probe.installed}
