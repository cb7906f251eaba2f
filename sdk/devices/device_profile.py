"""A device profile: what the SDK knows about a deployment device, as a validated record.

Profiles are JSON files (`devices/profiles/*.json` ship with the SDK; users add their
own, see `registry.py`). Each names the export target and precision to use, threads,
the default latency and memory budgets, a planning throughput with where it comes
from, and how to recognise the device (`detect.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import read_json
from ..errors import ConfigError
from ..formats import get_format

SCHEMA = "sfc-sdk-device"
SCHEMA_VERSION = 1
DETECT_KEYS = {"device_tree_model", "tegra_release", "cpu_vendor", "cuda", "fallback"}


class DeviceProfileError(ConfigError):
    """A device profile file is malformed."""


@dataclass(frozen=True)
class DeviceProfile:
    name: str  # e.g. "jetson-orin-nano"
    family: str  # e.g. "jetson": what users may type instead of the name
    description: str
    target: str  # export format (sfc_sdk.formats): onnx, openvino, tflite, tensorrt
    precision: str
    threads: int  # 0: the runtime's default
    latency_budget_ms: float  # default budget per video
    memory_budget_mb: float
    throughput_gmacs: float  # sustained GMAC/s, for planning when the device is not at hand
    throughput_source: str  # where that figure comes from
    family_default: bool = False  # the member picked for the family name when not detected
    jetpack: str = ""  # NVIDIA Jetson: the oldest JetPack its devices run, e.g. "4.6"
    # That JetPack's TensorRT, e.g. "8.2": bundles are fitted to it and every later release.
    tensorrt: str = ""
    detect: dict[str, Any] = field(default_factory=dict)
    path: str = ""  # file it was read from

    def estimate_latency_ms(self, gmacs: float) -> float:
        """Cost-model latency of `gmacs` GMACs per video on this device."""
        return 1000.0 * gmacs / self.throughput_gmacs

    @classmethod
    def from_dict(cls, d: Any, path: str = "") -> DeviceProfile:
        where = path or "device profile"
        if not isinstance(d, dict):
            raise DeviceProfileError(f"{where}: must be a JSON object")
        if d.get("schema") != SCHEMA or d.get("schema_version") != SCHEMA_VERSION:
            raise DeviceProfileError(f"{where}: expected schema {SCHEMA!r} version {SCHEMA_VERSION}, got "
                                     f"{d.get('schema')!r} version {d.get('schema_version')!r}")
        known = {"schema", "schema_version", *cls.__dataclass_fields__} - {"path"}
        unknown = sorted(set(d) - known)
        if unknown:
            raise DeviceProfileError(f"{where}: unknown keys {unknown}")

        def get(key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
            if key not in d:
                if default is ...:
                    raise DeviceProfileError(f"{where}: missing {key!r}")
                return default
            value = d[key]
            if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
                names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
                raise DeviceProfileError(f"{where}: {key!r} must be {names}, got {type(value).__name__}")
            return value

        number = (int, float)
        profile = cls(
            name=get("name", str), family=get("family", str), description=get("description", str),
            target=get("target", str), precision=get("precision", str), threads=get("threads", int),
            latency_budget_ms=float(get("latency_budget_ms", number)),
            memory_budget_mb=float(get("memory_budget_mb", number)),
            throughput_gmacs=float(get("throughput_gmacs", number)),
            throughput_source=get("throughput_source", str), family_default=get("family_default", bool, False),
            detect=get("detect", dict, {}), path=path,
            jetpack=get("jetpack", str, ""), tensorrt=get("tensorrt", str, ""),
        )
        profile._check(where)
        return profile

    def _check(self, where: str) -> None:
        if not self.name or not self.name.replace("-", "").isalnum():
            raise DeviceProfileError(f"{where}: name must be letters, digits and dashes, got {self.name!r}")
        try:
            fmt = get_format(self.target)
        except ConfigError:
            raise DeviceProfileError(f"{where}: unknown target format {self.target!r}") from None
        if self.precision not in fmt.precisions:
            raise DeviceProfileError(f"{where}: {fmt.name} offers {', '.join(fmt.precisions)}, not {self.precision!r}")
        for key in ("latency_budget_ms", "memory_budget_mb", "throughput_gmacs"):
            if getattr(self, key) <= 0:
                raise DeviceProfileError(f"{where}: {key!r} must be positive, got {getattr(self, key)}")
        if self.threads < 0:
            raise DeviceProfileError(f"{where}: 'threads' must be 0 (runtime default) or more")
        if set(self.detect) - DETECT_KEYS:
            raise DeviceProfileError(f"{where}: unknown detect keys {sorted(set(self.detect) - DETECT_KEYS)}")


def read_device_profile(path: str | Path) -> DeviceProfile:
    path = Path(path)
    data = read_json(path, DeviceProfileError, f"device profile not found: {path}")
    return DeviceProfile.from_dict(data, str(path))
