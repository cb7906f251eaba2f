"""Choosing the compression ratio that meets a latency budget.

Options come from a measured profile of the device (`sfc-sdk profile`) when there is
one, else from the cost model: the model's GMACs at each ratio (head + SFC + tail,
counted by `sfc_sdk.model.flops`) divided by the device's planning throughput. Among the
options that fit the budget (and the memory budget, where memory was measured), the
most accurate wins when accuracy was measured. Without accuracy figures, the model's
own ratio (the one it was trained and benchmarked at) is taken when it fits, else the
least compression above it that fits: lower ratios are not assumed to be more
accurate (on Weizmann, ratio 4 beat ratio 2 on long videos). When nothing fits,
`NoFitError` names the closest option instead of guessing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from ..config import ModelConfig
from ..errors import ConfigError
from .device_profile import DeviceProfile

if TYPE_CHECKING:  # the cost model needs the network; choosing from measurements does not
    from ..model import SFCModel


@dataclass(frozen=True)
class RatioOption:
    ratio: int
    latency_ms: float
    source: str  # "measured" or "cost model"
    top1: float | None = None  # 0-1, when measured on labeled data
    memory_mb: float | None = None  # peak, when measured

    def describe(self) -> str:
        acc = f", top-1 {self.top1:.1%}" if self.top1 is not None else ""
        return f"ratio {self.ratio}: {self.latency_ms:.0f} ms {self.source}{acc}"


@dataclass(frozen=True)
class RatioChoice:
    option: RatioOption
    budget_ms: float
    reason: str
    options: tuple[RatioOption, ...]

    def to_dict(self) -> dict:
        return {"ratio": self.option.ratio, "budget_ms": self.budget_ms, "reason": self.reason,
                "options": [asdict(o) for o in self.options]}


class NoFitError(ConfigError):
    """No ratio meets the budget."""


def valid_ratios(model: SFCModel, frames: int, ratios: Sequence[int]) -> list[int]:
    """The ratios the network can run at `frames` input frames."""
    refused = refused_ratios(model, frames, ratios)
    return [r for r in ratios if r not in refused]


def refused_ratios(model: SFCModel, frames: int, ratios: Sequence[int]) -> dict[int, str]:
    """The ratios the network cannot run at `frames` input frames, each with the reason."""
    refused = {}
    for r in ratios:
        try:
            model.kept_steps(frames, r)
        except ConfigError as e:
            refused[r] = str(e)
    return refused


def cost_model_options(model: SFCModel, config: ModelConfig, profile: DeviceProfile,
                       ratios: Sequence[int] = (1, 2, 4, 8), frames: int | None = None) -> list[RatioOption]:
    from ..model.flops import sfc_gmacs  # torch: imported only when the cost model is used

    frames = frames or config.sfc.frames
    crop = config.input_spec.crop_size
    return [RatioOption(r, profile.estimate_latency_ms(sfc_gmacs(model, frames, r, crop).total), "cost model")
            for r in valid_ratios(model, frames, ratios)]


def choose_ratio(options: Sequence[RatioOption], budget_ms: float, memory_budget_mb: float | None = None,
                 preferred: int | None = None) -> RatioChoice:
    if not options:
        raise ConfigError("no ratio options to choose from")
    if budget_ms <= 0:
        raise ConfigError(f"latency budget must be positive, got {budget_ms}")

    def fits_memory(o: RatioOption) -> bool:
        return memory_budget_mb is None or o.memory_mb is None or o.memory_mb <= memory_budget_mb

    fitting = [o for o in options if o.latency_ms <= budget_ms and fits_memory(o)]
    if not fitting:
        closest = min(options, key=lambda o: o.latency_ms)
        memory = "" if fits_memory(closest) else f", {closest.memory_mb:.0f} MB, over {memory_budget_mb:.0f} MB"
        raise NoFitError(f"no ratio meets {budget_ms:.0f} ms: the closest is {closest.describe()}{memory}; "
                         f"raise --latency-ms to at least {closest.latency_ms:.0f}, sample fewer frames (--frames), "
                         "or use a faster target")
    if all(o.top1 is not None for o in fitting):
        best = max(fitting, key=lambda o: (o.top1, -o.latency_ms))
        why = "the most accurate that fits"
    elif preferred is not None and any(o.ratio == preferred for o in fitting):
        best = next(o for o in fitting if o.ratio == preferred)
        why = "the model's own ratio fits (no accuracy measured)"
    else:
        above = [o for o in fitting if preferred is None or o.ratio > preferred]
        best = min(above or fitting, key=lambda o: o.ratio)
        why = "the least compression that fits (no accuracy measured)"
    reason = f"{best.describe()}, budget {budget_ms:.0f} ms: {why}"
    return RatioChoice(best, budget_ms, reason, tuple(options))
