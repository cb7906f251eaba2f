"""Is SFC's single compressed pass as accurate as dense sampling? Weizmann, leave-one-actor-out.

    python benchmarks/accuracy.py                 # all 7 folds (~1 h on 2 CPU cores)
    python benchmarks/accuracy.py --tiny          # 3 classes x 3 actors, 1 fold, a few steps (CI)

Per fold (test actor A): train the backbone on the other actors' clips, then the SFC
module (backbone frozen), then test on A's clips in two conditions: as they are
("trimmed"), and "long": each clip inside a video 3-4x its length of its empty scene,
written as a real file and read back through the normal decoder. Methods: dense
1x1 / 10x1 / 10x3 and SFC at each ratio, all with the same backbone weights.
Latency is per video on this machine, decoding included.

Everything is resumable: trained models and per-video results are kept under --work,
and a second run only does what is missing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from machine import describe_machine

from sfc_sdk import Recognizer
from sfc_sdk.training import SFCTrainOptions, TrainSettings, train_backbone, train_sfc
from sfc_sdk.video.files import scan_folder
from sfc_sdk.video.longvideo import make_long_video

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "weizmann"
ACTORS = ("daria", "denis", "eli", "ido", "lena", "lyova", "moshe")
TEST_SEED = 7  # long test videos; training uses SFCTrainOptions.seed_long


@dataclass(frozen=True)
class Config:
    classes: tuple[str, ...] | None  # None: all
    actors: tuple[str, ...]
    folds: tuple[str, ...]
    backbone: TrainSettings
    sfc: TrainSettings
    ratios: tuple[int, ...] = (2, 4, 8)
    views: tuple[str, ...] = ("1x1", "10x1", "10x3")
    sfc_frames: tuple[int, ...] = (64,)  # SFC input lengths to test; 64 is what the models are trained with
    short: str = "adapt"  # videos shorter than the SFC input: "adapt" (the SDK's default) or "repeat" frames
    split: str = ""  # head/tail split point; "" is the backbone's default (layer2 for r2plus1d_tiny)

    @property
    def sfc_name(self) -> str:
        """Model folder of this configuration's SFC module inside a fold."""
        return "sfc" if not self.split else f"sfc_{self.split}"

    def methods(self) -> list[tuple[str, str, dict]]:
        """(row label, predict mode, predict keyword arguments) for every method tested."""
        out = [(f"dense {v}", "dense", {"views": v}) for v in self.views]
        tag = ("" if self.short == "adapt" else f" {self.short}") + (f" @{self.split}" if self.split else "")
        for frames in self.sfc_frames:
            suffix = tag + ("" if frames == 64 else f" @{frames}f")
            out += [(f"SFC r{r}{suffix}", "sfc", {"ratio": r, "frames": frames, "short": self.short})
                    for r in self.ratios]
        if self.short == "adapt" and 64 in self.sfc_frames and 4 in self.ratios and not self.split:
            out.append(("SFC r4 repeat", "sfc", {"ratio": 4, "frames": 64, "short": "repeat"}))
        return out


FULL = Config(classes=None, actors=ACTORS, folds=ACTORS,
              backbone=TrainSettings(epochs=12, steps_per_epoch=200, lr=6e-3),
              sfc=TrainSettings(epochs=6, steps_per_epoch=100, lr=1e-3))
TINY = Config(classes=("bend", "jack", "wave1"), actors=("daria", "denis", "eli"), folds=("daria",),
              backbone=TrainSettings(epochs=2, steps_per_epoch=5, batch_size=4, lr=2e-3),
              sfc=TrainSettings(epochs=2, steps_per_epoch=5, batch_size=4, lr=1e-3))


def subset(data: Path, config: Config, work: Path) -> Path:
    """A folder-per-class view of the chosen classes and actors (symlinks), so training
    and testing go through exactly the code a user's dataset would."""
    if config.classes is None and config.actors == ACTORS:
        return data
    root = work / "data"
    for cls in config.classes or sorted(p.name for p in data.iterdir() if p.is_dir()):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for actor in config.actors:
            link = root / cls / f"{actor}_{cls}.avi"
            if not link.exists():
                link.symlink_to(data / cls / f"{actor}_{cls}.avi")
    return root


def train_fold(data: Path, actor: str, config: Config, fold_dir: Path, progress: bool, device: str = "cpu",
               also_held_out: tuple[str, ...] = ()) -> Path:
    held_out = [f"{a}_*" for a in (actor, *also_held_out)]
    backbone, sfc = fold_dir / "backbone", fold_dir / config.sfc_name
    if not (backbone / "config.json").exists():
        train_backbone(data, "r2plus1d_tiny", backbone, settings=config.backbone, exclude=held_out,
                       resume=(backbone / "train_state.pt").exists(), progress=progress, device=device)
    if not (sfc / "config.json").exists():
        train_sfc(backbone, data, sfc, settings=config.sfc, options=SFCTrainOptions(ratios=config.ratios),
                  exclude=held_out, resume=(sfc / "train_state.pt").exists(), progress=progress,
                  split=config.split or None)
    return sfc


def test_fold(data: Path, actor: str, config: Config, fold_dir: Path, progress: bool) -> list[dict]:
    """Per-video results, appended to fold_dir/results.jsonl as they finish."""
    from tqdm import tqdm

    results_path = fold_dir / "results.jsonl"
    done = [json.loads(line) for line in results_path.read_text().splitlines()] if results_path.exists() else []
    seen = {(r["video"], r["condition"], r["method"]) for r in done}
    classes, items = scan_folder(data, include=[f"{actor}_*"])
    rec = Recognizer(fold_dir / config.sfc_name, device="cpu")
    rec.predict(items[0].path)  # warm-up: first-call allocations are not the method's cost
    jobs = []
    for item in items:
        long = make_long_video(item.path, fold_dir / "long_test", seed=TEST_SEED)
        for condition, path in (("trimmed", item.path), ("long", long.path)):
            for name, mode, kwargs in config.methods():
                if (item.path.name, condition, name) not in seen:
                    jobs.append((item, condition, path, mode, kwargs, name, long))
    with results_path.open("a") as out:
        for item, condition, path, mode, kwargs, name, long in tqdm(jobs, desc=f"test {actor}", disable=not progress):
            pred = rec.predict(path, mode=mode, **kwargs)
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


def select_split(data: Path, outer: str, config: Config, candidates: tuple[str, ...], fold_dir: Path,
                 progress: bool, device: str = "cpu") -> tuple[str, dict[str, float]]:
    """Choose the head/tail split for outer fold `outer` without its test actor: train on the
    other actors minus one validation actor, score every candidate split on that actor, and
    keep the best. Criterion, fixed in advance: mean SFC top-1 over all ratios and both
    conditions (60 decisions); a tie keeps the backbone's default split (the first candidate)."""
    val = inner_actor(outer, config.actors)
    inner_dir = fold_dir / f"inner_{val}"
    scores = {}
    for split in candidates:
        inner = replace(config, split=split, views=())
        train_fold(data, val, inner, inner_dir, progress, device, also_held_out=(outer,))
        results = test_fold(data, val, inner, inner_dir, progress)
        names = {f"SFC r{r}" + (f" @{split}" if split else "") for r in config.ratios}
        scores[split] = 100 * float(np.mean([r["hit"] for r in results if r["method"] in names]))
    best = max(candidates, key=lambda s: (scores[s], s == candidates[0]))
    return best, scores


def with_nested(data: Path, actor: str, config: Config, alternative: str, chosen: str, fold_dir: Path,
                progress: bool, device: str) -> list[dict]:
    """All of the fold's results (default and alternative split), plus the chosen split's
    results relabelled 'SFC rN nested': the number the nested protocol reports."""
    alt = replace(config, split=alternative, views=())
    train_fold(data, actor, alt, fold_dir, progress, device)
    results = test_fold(data, actor, alt, fold_dir, progress)  # every row of the fold's results file
    suffix = f" @{chosen}" if chosen else ""
    chosen_names = {f"SFC r{r}{suffix}": f"SFC r{r} nested" for r in config.ratios}
    return results + [{**r, "method": chosen_names[r["method"]]} for r in results if r["method"] in chosen_names]


def choice_table(choices: dict[str, tuple[str, dict[str, float]]], config: Config) -> str:
    lines = ["Split chosen per fold on a validation actor held out of that fold's training (mean SFC "
             "top-1 over ratios " + "/".join(map(str, config.ratios)) + " and both conditions):", "",
             "| test actor | validation actor | " + " | ".join(f"val top-1 {s or 'default'}" for s in
                                                               next(iter(choices.values()))[1]) + " | chosen |",
             "|---|---|" + "---|" * (len(next(iter(choices.values()))[1]) + 1)]
    for actor, (best, scores) in choices.items():
        lines.append(f"| {actor} | {inner_actor(actor, config.actors)} | "
                     + " | ".join(f"{v:.1f}" for v in scores.values()) + f" | {best or 'default'} |")
    return "\n".join(lines)


def summarise(results: list[dict], names: list[str]) -> dict[str, dict[str, float]]:
    """Per method: top-1 (%) and mean latency (ms) per condition, share of kept moments inside the action."""
    out = {}
    for m in names:
        row = {}
        for cond in ("trimmed", "long"):
            rows = [r for r in results if r["method"] == m and r["condition"] == cond]
            row[f"top1_{cond}"] = 100 * float(np.mean([r["hit"] for r in rows])) if rows else float("nan")
            row[f"ms_{cond}"] = float(np.mean([r["latency_ms"] for r in rows])) if rows else float("nan")
        kept = [r["kept_in_action"] for r in results if r["method"] == m and "kept_in_action" in r]
        row["kept_in_action"] = 100 * float(np.mean(kept)) if kept else float("nan")
        out[m] = row
    return out


def table(results: list[dict], names: list[str], folds: list[str]) -> str:
    summary = summarise(results, names)
    base = summary["dense 10x3"]
    lines = ["| method | top-1 trimmed | top-1 long | ms/video trimmed | ms/video long | faster than 30-view "
             "(trimmed / long) | SFC kept in action (long) |", "|---|---|---|---|---|---|---|"]
    for m, row in summary.items():
        speed = f"{base['ms_trimmed'] / row['ms_trimmed']:.1f}x / {base['ms_long'] / row['ms_long']:.1f}x"
        kept = "-" if np.isnan(row["kept_in_action"]) else f"{row['kept_in_action']:.0f}%"
        lines.append(f"| {m} | {row['top1_trimmed']:.1f} | {row['top1_long']:.1f} | {row['ms_trimmed']:.0f} | "
                     f"{row['ms_long']:.0f} | {speed} | {kept} |")
    lines += ["", "Per fold (test actor), top-1 trimmed / long (%):", "",
              "| method | " + " | ".join(folds) + " |", "|---|" + "---|" * len(folds)]
    for m in names:
        cells = []
        for a in folds:
            acc = [100 * float(np.mean([r["hit"] for r in results
                                        if r["method"] == m and r["condition"] == c and r["actor"] == a] or [np.nan]))
                   for c in ("trimmed", "long")]
            cells.append(f"{acc[0]:.0f} / {acc[1]:.0f}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(results: list[dict], names: list[str], path: Path) -> None:
    """Top-1 against latency, one panel per condition."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summarise(results, names)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, cond in zip(axes, ("trimmed", "long"), strict=True):
        for m, row in summary.items():
            ax.scatter(row[f"ms_{cond}"], row[f"top1_{cond}"], marker="o" if m.startswith("SFC") else "s",
                       color="tab:blue" if m.startswith("SFC") else "tab:gray")
            ax.annotate(m, (row[f"ms_{cond}"], row[f"top1_{cond}"]), textcoords="offset points", xytext=(4, 4))
        ax.set_xscale("log")
        ax.set_xlabel("latency per video, ms (log; this CPU, decoding included)")
        ax.set_title(f"{cond} videos")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("top-1 (%)")
    fig.suptitle("Weizmann, leave-one-actor-out: SFC vs dense sampling, same backbone")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "accuracy")
    ap.add_argument("--tiny", action="store_true", help="CI configuration: 3 classes, 3 actors, 1 fold, few steps")
    ap.add_argument("--folds", help="comma-separated test actors (default: all of the configuration's)")
    ap.add_argument("--out", type=Path, help="markdown table (default: benchmarks/results/accuracy.md; tiny: --work)")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    ap.add_argument("--sfc-frames", help="SFC input lengths to test, e.g. 32,64,128 (default: 64)")
    ap.add_argument("--split", default="", help="head/tail split point for the SFC module (default: the "
                    "backbone's); trains an extra SFC module per fold from the same backbone")
    ap.add_argument("--select-split", default="", metavar="SPLIT",
                    help="nested protocol: per fold, choose between the backbone's default split and SPLIT "
                         "on a validation actor held out of that fold's training, then report the chosen "
                         "split's test results as 'SFC rN nested'")
    ap.add_argument("--short", choices=("adapt", "repeat"), default="adapt",
                    help="videos shorter than the SFC input: sample each frame once and lower the ratio "
                         "(adapt, the SDK's default) or repeat frames")
    ap.add_argument("--train-device", default="cpu", help="device for backbone training (cpu, cuda)")
    ap.add_argument("--phase", choices=["all", "train", "test"], default="all",
                    help="train: only train the folds; test: only test (trains what is missing first)")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        sys.exit(f"error: Weizmann data not found at {args.data} (see ../shared/data/README.md)")
    config = TINY if args.tiny else FULL
    if args.sfc_frames:
        config = replace(config, sfc_frames=tuple(int(f) for f in args.sfc_frames.split(",")))
    config = replace(config, short=args.short, split=args.split)
    folds = args.folds.split(",") if args.folds else list(config.folds)
    work = args.work / ("tiny" if args.tiny else "full")
    data = subset(args.data, config, work)
    results, names, choices = [], [m for m, _, _ in config.methods()], {}
    for actor in folds:
        fold_dir = work / f"fold_{actor}"
        if args.select_split:
            choices[actor] = select_split(data, actor, config, ("", args.select_split), fold_dir,
                                          not args.quiet, args.train_device)
        train_fold(data, actor, config, fold_dir, not args.quiet, args.train_device)
        if args.phase != "train":
            fold_results = test_fold(data, actor, config, fold_dir, not args.quiet)
            if args.select_split:
                fold_results = with_nested(data, actor, config, args.select_split, choices[actor][0], fold_dir,
                                           not args.quiet, args.train_device)
            results += fold_results
    if args.phase == "train":
        return
    if args.select_split:
        names = [n for n in names if "repeat" not in n]
        names += [f"SFC r{r} @{args.select_split}" for r in config.ratios] + [f"SFC r{r} nested" for r in config.ratios]
    stamp = (f"Measured {datetime.date.today()} on {describe_machine()}, torch CPU, "
             f"`python benchmarks/accuracy.py {' '.join(sys.argv[1:])}`; "
             f"leave-one-actor-out over {', '.join(folds)}; r2plus1d_tiny, SFC from 64 frames.")
    text = stamp + "\n\n" + table(results, names, folds) + "\n"
    if choices:
        text += "\n" + choice_table(choices, config) + "\n"
    print(text)
    out = args.out or (work / "accuracy.md" if args.tiny else REPO / "benchmarks" / "results" / "accuracy.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    (out.with_suffix(".jsonl")).write_text("".join(json.dumps(r) + "\n" for r in results))
    plot(results, names, out.with_suffix(".png"))
    print(f"written: {out} (+ .jsonl, .png)")


if __name__ == "__main__":
    main()
