"""The leave-one-actor-out protocol behind benchmarks/accuracy.py: what a fold trains,
how it is tested, and how a choice between SFC variants is made without the test actor.

A fold (test actor A) trains a backbone on the other actors (from scratch, or fine-tuned
from a pretrained checkpoint), then one SFC module per variant on that frozen backbone,
and tests every method on A's clips, trimmed and inside a long video of empty scene.

Nested choice: inside the fold, a validation actor V (fixed in advance: the next actor
in the list) is held out too; a second backbone and every variant are trained on the
remaining actors and scored on V; the variant with the best validation score is the
fold's choice, and its test results are reported again as "SFC rN nested".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from sfc_sdk import Recognizer
from sfc_sdk.config import SFCSettings
from sfc_sdk.training import SFCTrainOptions, TrainSettings, train_backbone, train_sfc
from sfc_sdk.video.files import scan_folder
from sfc_sdk.video.longvideo import make_long_video

TEST_SEED = 7  # long test videos; training uses SFCTrainOptions.seed_long


@dataclass(frozen=True)
class Variant:
    """One way to build and train the SFC module on a fold's frozen backbone."""

    name: str  # "" is the default variant (rows "SFC rN"); others show as "SFC rN [name]"
    split: str = ""  # head/tail split; "" is the backbone's default
    module: SFCSettings | None = None  # None: the model's own SFC settings
    score_window: int | None = 4  # see SFCTrainOptions.score_window
    short: str = "adapt"  # see SFCTrainOptions.short

    @property
    def folder(self) -> str:
        # The default variant's folder names its recipe: until 2026-12-03 the default
        # trained with short="repeat" in a folder "sfc", which must not be reused now.
        return "sfc_" + (self.name or "default")

    def label(self, ratio: int) -> str:
        return f"SFC r{ratio}" + (f" [{self.name}]" if self.name else "")


VARIANTS = {
    "": Variant(""),
    "layer3": Variant("layer3", split="layer3"),
    "bounded": Variant("bounded", module=SFCSettings(gate="bounded")),
    "select": Variant("select", module=SFCSettings(attention=False)),
    "window": Variant("window", score_window=None),
    # The default until 2026-12-03: short clips trained at the full input length, frames
    # spread (the nested study that replaced it: results/accuracy_jester_stride.md).
    "repeat": Variant("repeat", short="repeat"),
}


@dataclass(frozen=True)
class Config:
    classes: tuple[str, ...] | None  # None: all
    actors: tuple[str, ...]
    folds: tuple[str, ...]
    backbone: TrainSettings
    sfc: TrainSettings
    arch: str = "r2plus1d_tiny"
    init: Path | None = None  # pretrained checkpoint to fine-tune from; None: from scratch
    ratios: tuple[int, ...] = (2, 4, 8)
    views: tuple[str, ...] = ("1x1", "10x1", "10x3")
    sfc_frames: tuple[int, ...] = (64,)  # SFC input lengths to test; 64 is what the models are trained with
    short: str = "adapt"  # videos shorter than the SFC input: "adapt" (the SDK's default) or "repeat" frames
    variants: tuple[Variant, ...] = field(default=(VARIANTS[""],))
    backbone_options: tuple[tuple[str, object], ...] = ()  # extra train_backbone arguments (a recipe arm)

    def methods(self, variants: tuple[Variant, ...] | None = None) -> list[tuple[str, str, dict, Variant | None]]:
        """(row label, predict mode, predict keyword arguments, SFC variant) for every method tested."""
        out: list[tuple[str, str, dict, Variant | None]] = [
            (f"dense {v}", "dense", {"views": v}, None) for v in self.views]
        for variant in self.variants if variants is None else variants:
            for frames in self.sfc_frames:
                suffix = ("" if self.short == "adapt" else f" {self.short}") + ("" if frames == 64 else f" @{frames}f")
                out += [(variant.label(r) + suffix, "sfc", {"ratio": r, "frames": frames, "short": self.short},
                         variant) for r in self.ratios]
        return out


def train_fold(data: Path, held_out: tuple[str, ...], config: Config, fold_dir: Path, progress: bool,
               device: str = "cpu") -> None:
    """The fold's backbone and one SFC module per variant, trained without the `held_out` actors."""
    exclude = [f"{a}_*" for a in held_out]
    backbone = fold_dir / "backbone"
    if not (backbone / "config.json").exists():
        train_backbone(data, config.arch, backbone, settings=config.backbone, exclude=exclude, init=config.init,
                       resume=(backbone / "train_state.pt").exists(), progress=progress, device=device,
                       **dict(config.backbone_options))
    for variant in config.variants:
        sfc = fold_dir / variant.folder
        if not (sfc / "config.json").exists():
            options = SFCTrainOptions(ratios=config.ratios, score_window=variant.score_window, short=variant.short)
            train_sfc(backbone, data, sfc, settings=config.sfc, options=options, exclude=exclude,
                      resume=(sfc / "train_state.pt").exists(), progress=progress, split=variant.split or None,
                      module=variant.module)


def test_fold(data: Path, actor: str, config: Config, fold_dir: Path, progress: bool) -> list[dict]:
    """Per-video results on `actor`, appended to fold_dir/results.jsonl as they finish
    (a second run only does what is missing)."""
    from tqdm import tqdm

    results_path = fold_dir / "results.jsonl"
    done = [json.loads(line) for line in results_path.read_text().splitlines()] if results_path.exists() else []
    seen = {(r["video"], r["condition"], r["method"]) for r in done}
    classes, items = scan_folder(data, include=[f"{actor}_*"])
    recognizers: dict[str, Recognizer] = {}

    def recognizer(variant: Variant | None) -> Recognizer:
        folder = (variant or config.variants[0]).folder  # dense views: the backbone is the same in every variant
        if folder not in recognizers:
            recognizers[folder] = Recognizer(fold_dir / folder, device="cpu")
            recognizers[folder].predict(items[0].path)  # warm-up: first-call allocations are not the method's cost
        return recognizers[folder]

    jobs = []
    for item in items:
        long = make_long_video(item.path, fold_dir / "long_test", seed=TEST_SEED)
        for condition, path in (("trimmed", item.path), ("long", long.path)):
            for name, mode, kwargs, variant in config.methods():
                if (item.path.name, condition, name) not in seen:
                    jobs.append((item, condition, path, mode, kwargs, name, variant, long))
    with results_path.open("a") as out:
        for item, condition, path, mode, kwargs, name, variant, long in tqdm(
                jobs, desc=f"test {actor}", disable=not progress):
            pred = recognizer(variant).predict(path, mode=mode, **kwargs)
            record = {"actor": actor, "video": item.path.name, "condition": condition, "method": name,
                      "label": classes[item.label], "predicted": pred.label, "hit": pred.top[0].index == item.label,
                      "latency_ms": pred.timings_ms["total"]}
            if mode == "sfc" and condition == "long":
                inside = [long.action_start <= k.frame < long.action_end for k in pred.kept]
                record["kept_in_action"] = float(np.mean(inside))
            out.write(json.dumps(record) + "\n")
            out.flush()
            done.append(record)
    return done


def inner_actor(outer: str, actors: tuple[str, ...]) -> str:
    """The validation actor of an outer fold: the next actor in the list (fixed before any result)."""
    return actors[(actors.index(outer) + 1) % len(actors)]


def select_variant(data: Path, outer: str, config: Config, fold_dir: Path, progress: bool,
                   device: str = "cpu") -> tuple[Variant, dict[str, float]]:
    """Choose an SFC variant for outer fold `outer` without its test actor. Criterion,
    fixed in advance: mean SFC top-1 on the validation actor over all ratios and both
    conditions; a tie keeps the earlier variant in the configuration's list."""
    val = inner_actor(outer, config.actors)
    inner_dir = fold_dir / f"inner_{val}"
    inner = replace(config, views=())
    train_fold(data, (outer, val), inner, inner_dir, progress, device)
    results = test_fold(data, val, inner, inner_dir, progress)
    scores = {}
    for variant in config.variants:
        names = {variant.label(r) for r in config.ratios}
        scores[variant.name] = 100 * float(np.mean([r["hit"] for r in results if r["method"] in names]))
    best = max(config.variants, key=lambda v: (scores[v.name], -config.variants.index(v)))
    return best, scores


def nested_rows(results: list[dict], chosen: Variant, ratios: tuple[int, ...]) -> list[dict]:
    """The chosen variant's test results relabelled 'SFC rN nested': the number the nested protocol reports."""
    names = {chosen.label(r): f"SFC r{r} nested" for r in ratios}
    return [{**r, "method": names[r["method"]]} for r in results if r["method"] in names]
