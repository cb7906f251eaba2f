"""What the SDK knows about a deployment device, to pick a runtime and a ratio."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceProfile:
    name: str  # e.g. "jetson-orin-nano"
    family: str  # e.g. "jetson"
    runtime: str  # runtime adapter to use (sfc_sdk.runtimes)
    precision: str  # e.g. "fp16", "int8"
    threads: int
    latency_budget_ms: float  # default budget per video
    memory_budget_mb: float
    throughput_gmacs: float  # sustained GMAC/s for planning when the device is not at hand
    source: str  # where the throughput figure comes from

    def estimate_latency_ms(self, gmacs: float) -> float:
        """Cost-model latency of a model of `gmacs` GMACs per video on this device."""
        return 1000.0 * gmacs / self.throughput_gmacs
