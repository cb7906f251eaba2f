"""The training loop both trainers share: AdamW + one-cycle, a progress bar, a
validation score per epoch, a resumable checkpoint, and determinism from a seed.

Determinism and resume go together: every step draws its randomness from a
generator seeded by (seed, step), not from a stream that runs across steps, so a
run resumed from its last epoch checkpoint takes exactly the steps the
uninterrupted run would have taken.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import CheckpointError, ConfigError
from ..fileio import write_atomic

STATE_FILE = "train_state.pt"
HISTORY_FILE = "history.jsonl"


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 10
    steps_per_epoch: int = 100
    batch_size: int = 8
    lr: float = 2e-3  # one-cycle peak
    weight_decay: float = 1e-4
    seed: int = 0

    def __post_init__(self) -> None:
        if min(self.epochs, self.steps_per_epoch, self.batch_size) < 1 or not self.lr > 0:
            raise ConfigError(f"epochs, steps per epoch, batch size and lr must be positive: {self}")

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch


def step_rng(seed: int, step: int, stream: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, step, stream])


StepLoss = Callable[[int, np.random.Generator], "torch.Tensor | tuple[torch.Tensor, dict[str, float]]"]


def fit(trainable: nn.Module, step_loss: StepLoss,
        validate: Callable[[], dict[str, float]], settings: TrainSettings, out_dir: Path, *,
        resume: bool = False, desc: str = "train", progress: bool = True) -> list[dict]:
    """Minimise `step_loss(step, rng)` over the parameters of `trainable` that require
    grad; call `validate()` after every epoch; checkpoint to `out_dir/train_state.pt`.
    `step_loss` may also return named parts of the loss (floats), averaged per epoch into
    the history beside it."""
    from tqdm import tqdm

    out_dir.mkdir(parents=True, exist_ok=True)
    params = [p for p in trainable.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=settings.lr, total_steps=settings.total_steps,
                                                pct_start=0.2)
    start, history = _resume(out_dir / STATE_FILE, resume, settings, trainable, opt, sched)

    losses: list[float] = []
    parts: dict[str, list[float]] = {}
    bar = tqdm(total=settings.total_steps, initial=start, desc=desc, unit="step", disable=not progress,
               dynamic_ncols=True)
    for step in range(start, settings.total_steps):
        torch.manual_seed(settings.seed * 1_000_003 + step)
        loss = step_loss(step, step_rng(settings.seed, step))
        if isinstance(loss, tuple):
            loss, named = loss
            for name, value in named.items():
                parts.setdefault(name, []).append(value)
        if not math.isfinite(loss.item()):
            raise FloatingPointError(f"loss became {loss.item()} at step {step}; lower the learning rate")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        if (step + 1) % settings.steps_per_epoch == 0:
            record = {"epoch": (step + 1) // settings.steps_per_epoch, "step": step + 1,
                      "loss": float(np.mean(losses)) if losses else None,
                      **{name: float(np.mean(values)) for name, values in parts.items()}, **validate()}
            losses, parts = [], {}
            history.append(record)
            bar.write(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()))
            _checkpoint(out_dir, history, {"model": trainable.state_dict(), "optimizer": opt.state_dict(),
                                           "scheduler": sched.state_dict(), "step": step + 1, "history": history,
                                           "settings": asdict(settings)})
    bar.close()
    return history


def _resume(state_path: Path, resume: bool, settings: TrainSettings, trainable: nn.Module,
            opt: torch.optim.Optimizer, sched: torch.optim.lr_scheduler.LRScheduler) -> tuple[int, list[dict]]:
    """The step to start from and the history so far: (0, []) for a new run, else those of
    the checkpoint at `state_path`, whose model, optimizer and schedule are loaded into
    `trainable`, `opt` and `sched`. A run is never overwritten: an existing checkpoint
    without `resume` is an error, and so is one saved with other settings."""
    if not state_path.exists():
        return 0, []
    if not resume:
        raise ConfigError(f"{state_path.parent} already holds a training run: pass --resume to continue it, "
                          "or choose another output folder")
    state = _load_state(state_path)
    if state["settings"] != asdict(settings):
        raise ConfigError(f"{state_path}: saved with other settings {state['settings']}; resume with the same")
    trainable.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    return state["step"], state["history"]


def _checkpoint(out_dir: Path, history: list[dict], state: dict) -> None:
    """End an epoch on disk: the history so far, then the training state."""
    # History first, state last: the state file is the commit point, so whoever sees it
    # (a resume, a watcher) also finds the epoch's history line.
    write_atomic(out_dir / HISTORY_FILE, "".join(json.dumps(r) + "\n" for r in history).encode())
    _save_state(out_dir / STATE_FILE, state)


def _save_state(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # atomic: a kill mid-save leaves the previous checkpoint intact


def _load_state(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable state is the same problem for the user
        raise CheckpointError(f"{path}: cannot resume from this training state ({e})") from None
