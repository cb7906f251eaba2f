"""Is SFC's single compressed pass as accurate as dense sampling? Weizmann, leave-one-actor-out.

    python -m benchmarks.accuracy                       # r2plus1d_tiny from scratch, 7 folds (~1 h, 2 cores)
    python -m benchmarks.accuracy --backbone jester     # the Jester 3D ShuffleNet, fine-tuned per fold
    python -m benchmarks.accuracy --backbone jester --variants ,bounded,select,window --nested
    python -m benchmarks.accuracy --tiny                # 3 classes x 3 actors, 1 fold, a few steps (CI)

Per fold (test actor A): train the backbone on the other actors' clips, then the SFC
module (backbone frozen), then test on A's clips in two conditions: as they are
("trimmed"), and "long": each clip inside a video 3-4x its length of its empty scene,
written as a real file and read back through the normal decoder. Methods: dense
1x1 / 10x1 / 10x3 and SFC at each ratio, all with the same backbone weights.
Latency is per video on this machine, decoding included. `--nested` chooses among the
SFC variants per fold on a validation actor (see accuracy_protocol.py).

Everything is resumable: trained models and per-video results are kept under --work,
and a second run only does what is missing.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.accuracy_protocol import (
    VARIANTS,
    Config,
    Variant,
    inner_actor,
    nested_rows,
    select_variant,
    test_fold,
    train_fold,
)
from benchmarks.harness import REPO, RESULTS, SHARED, WEIZMANN, command, describe_machine, today, write_results
from sfc_sdk.training import TrainSettings

DEFAULT_DATA = WEIZMANN
JESTER = SHARED / "weights" / "jester_shufflenet_0.5x_G3_RGB_16_best.pth"
ACTORS = ("daria", "denis", "eli", "ido", "lena", "lyova", "moshe")

CONFIGS = {
    # From scratch: the recipe of the first bundled model.
    "scratch": Config(classes=None, actors=ACTORS, folds=ACTORS,
                      backbone=TrainSettings(epochs=12, steps_per_epoch=200, lr=6e-3),
                      sfc=TrainSettings(epochs=6, steps_per_epoch=100, lr=1e-3)),
    # Fine-tuned from Jester: `sfc-sdk train backbone --init`'s defaults. The tail of 3D
    # ShuffleNet needs a multiple of 4 head steps, so ratio 8 does not run at 64 frames.
    "jester": Config(classes=None, actors=ACTORS, folds=ACTORS, arch="shufflenet_3d", init=JESTER,
                     backbone=TrainSettings(epochs=7, steps_per_epoch=100, lr=1e-3),
                     sfc=TrainSettings(epochs=6, steps_per_epoch=100, lr=1e-3), ratios=(2, 4)),
}
# Recipe arms (benchmarks/accuracy_recipe.py chooses between them, nested): the Jester
# recipe with half of the backbone's training clips sampled as SFC's tail meets them.
CONFIGS["jester-sfc-clips"] = replace(CONFIGS["jester"], backbone_options=(("sfc_clips", 0.5),))
TINY = Config(classes=("bend", "jack", "wave1"), actors=("daria", "denis", "eli"), folds=("daria",),
              backbone=TrainSettings(epochs=2, steps_per_epoch=5, batch_size=4, lr=2e-3),
              sfc=TrainSettings(epochs=2, steps_per_epoch=5, batch_size=4, lr=1e-3))


def fold_model_args(description: str, out_name: str, argv: list[str] | None = None
                    ) -> tuple[argparse.Namespace, list[str]]:
    """Arguments of a benchmark that evaluates this script's fold models (same --work),
    parsed, with the data checked: (args, test actors)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "accuracy",
                    help="benchmarks/accuracy.py's --work (its fold models are reused)")
    ap.add_argument("--folds", help="comma-separated test actors (default: all 7)")
    ap.add_argument("--out", type=Path, default=RESULTS / out_name)
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        sys.exit(f"error: Weizmann data not found at {args.data} (see ../shared/data/README.md)")
    return args, args.folds.split(",") if args.folds else list(ACTORS)


def subset(data: Path, config: Config, work: Path) -> Path:
    """A folder-per-class view of the chosen classes and actors (symlinks), so training
    and testing go through exactly the code a user's dataset would."""
    if config.classes is None and config.actors == ACTORS:
        return data
    root, data = work / "data", data.resolve()  # a relative target would resolve against the link's folder
    for cls in config.classes or sorted(p.name for p in data.iterdir() if p.is_dir()):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for actor in config.actors:
            link = root / cls / f"{actor}_{cls}.avi"
            if not link.is_symlink():
                link.symlink_to(data / cls / f"{actor}_{cls}.avi")
    return root


def choice_table(choices: dict[str, tuple[Variant, dict[str, float]]], config: Config) -> str:
    names = list(next(iter(choices.values()))[1])
    lines = ["SFC variant chosen per fold on a validation actor held out of that fold's training (mean SFC "
             "top-1 over ratios " + "/".join(map(str, config.ratios)) + " and both conditions):", "",
             "| test actor | validation actor | " + " | ".join(f"val {n or 'default'}" for n in names) + " | chosen |",
             "|---|---|" + "---|" * (len(names) + 1)]
    for actor, (best, scores) in choices.items():
        lines.append(f"| {actor} | {inner_actor(actor, config.actors)} | "
                     + " | ".join(f"{v:.1f}" for v in scores.values()) + f" | {best.name or 'default'} |")
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
    ap.add_argument("--backbone", choices=sorted(CONFIGS), default="scratch",
                    help="scratch: r2plus1d_tiny trained from scratch; jester: the Jester 3D ShuffleNet fine-tuned")
    ap.add_argument("--tiny", action="store_true", help="CI configuration: 3 classes, 3 actors, 1 fold, few steps")
    ap.add_argument("--folds", help="comma-separated test actors (default: all of the configuration's)")
    ap.add_argument("--out", type=Path, help="markdown table (default: benchmarks/results/accuracy.md; tiny: --work)")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    ap.add_argument("--sfc-frames", help="SFC input lengths to test, e.g. 32,64,128 (default: 64)")
    ap.add_argument("--variants", default="", help="comma-separated SFC variants, one SFC module each per fold "
                    f"('' is the default; known: {', '.join(repr(k) for k in VARIANTS)})")
    ap.add_argument("--nested", action="store_true",
                    help="choose among the variants per fold on a validation actor held out of that fold's "
                         "training, and report the chosen variant's test results as 'SFC rN nested'")
    ap.add_argument("--short", choices=("adapt", "repeat"), default="adapt",
                    help="videos shorter than the SFC input: sample each frame once and lower the ratio "
                         "(adapt, the SDK's default) or repeat frames")
    ap.add_argument("--train-device", default="cpu", help="device for backbone training (cpu, cuda)")
    ap.add_argument("--phase", choices=["all", "train", "test"], default="all",
                    help="train: only train the folds; test: only test (trains what is missing first)")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        sys.exit(f"error: Weizmann data not found at {args.data} (see ../shared/data/README.md)")
    config = TINY if args.tiny else CONFIGS[args.backbone]
    if config.init is not None and not config.init.is_file():
        sys.exit(f"error: pretrained weights not found at {config.init} (see ../shared/weights/README.md)")
    if args.sfc_frames:
        config = replace(config, sfc_frames=tuple(int(f) for f in args.sfc_frames.split(",")))
    unknown = [v for v in args.variants.split(",") if v not in VARIANTS]
    if unknown:
        sys.exit(f"error: unknown SFC variants {unknown}; known: {list(VARIANTS)}")
    config = replace(config, short=args.short, variants=tuple(VARIANTS[v] for v in args.variants.split(",")))
    folds = args.folds.split(",") if args.folds else list(config.folds)
    work = args.work / ("tiny" if args.tiny else args.backbone)
    data = subset(args.data, config, work)
    results, choices = [], {}
    for actor in folds:
        fold_dir = work / f"fold_{actor}"
        if args.nested:
            choices[actor] = select_variant(data, actor, config, fold_dir, not args.quiet, args.train_device)
        train_fold(data, (actor,), config, fold_dir, not args.quiet, args.train_device)
        if args.phase != "train":
            fold_results = test_fold(data, actor, config, fold_dir, not args.quiet)
            if args.nested:
                fold_results += nested_rows(fold_results, choices[actor][0], config.ratios)
            results += fold_results
    if args.phase == "train":
        return
    names = [m for m, *_ in config.methods()]
    if args.nested:
        names += [f"SFC r{r} nested" for r in config.ratios]
    what = f"{config.arch}" + (f" fine-tuned from {config.init.name}" if config.init else " from scratch")
    stamp = (f"Measured {today()} on {describe_machine()}, torch CPU, `{command('accuracy')}`; "
             f"leave-one-actor-out over {', '.join(folds)}; {what}, SFC from 64 frames.")
    text = stamp + "\n\n" + table(results, names, folds) + "\n"
    if choices:
        text += "\n" + choice_table(choices, config) + "\n"
    out = args.out or (work / "accuracy.md" if args.tiny else RESULTS / "accuracy.md")
    write_results(out, text, rows=results)
    plot(results, names, out.with_suffix(".png"))
    print(f"written: {out} (+ .jsonl, .png)")


if __name__ == "__main__":
    main()
