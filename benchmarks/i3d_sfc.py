"""SFC on I3D against its baselines, per clip: top-1 agreement with 30 views, top-1 where known.

    python benchmarks/i3d_sfc.py --data DIR [--model kinetics400-i3d] [--arms ARM,...] [--out NAME]

DIR: a folder of videos (benchmarks/i3d_data.py's val/ or test/). Every arm predicts every
video the way a user's `predict` does (decode, sample, run); arms:

    30views               dense 10x3, the paper's baseline and the reference (teacher cache)
    whole                 I3D's own protocol: one centre-cropped pass over the whole video
    uniform@SPLIT         SFC at ratio 4, head ending after SPLIT, untrained module (uniform sampling)
    novelty@SPLIT         the same with the training-free selector (distance from the median step)
    trained=MODEL_DIR     a trained SFC model (its own split)

Agreement: the arm's top-1 equals the 30-view top-1. Top-1: on the clips whose Kinetics-400
label is known (LABELS). Rows go to benchmarks/results/NAME.jsonl as each is computed (a rerun
skips them); the table to NAME.md, with machine and date.
"""

from __future__ import annotations

import argparse
import datetime
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from machine import describe_machine

REPO = Path(__file__).resolve().parents[1]
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".gif")
# Clips whose Kinetics-400 class is known (shared/data/clips, tests/data/clips).
LABELS = {"arm_wrestling_kinetics": "arm wrestling", "flipping_pancake_kinetics": "flipping pancake",
          "v_CricketShot_g04_c01_rgb": "playing cricket"}
DEFAULT_ARMS = "30views,whole,uniform@stem,novelty@stem,uniform@Mixed_3c,novelty@Mixed_3c"


def groups_of(data: Path, videos: list[Path]) -> dict[str, str]:
    """video name -> kind of footage, from i3d_data.py's SPLIT.tsv beside DIR."""
    split = data.parent / "SPLIT.tsv"
    source = dict(line.split("\t")[::2] for line in split.read_text().splitlines()[1:]) if split.is_file() else {}
    out = {}
    for v in videos:
        group = source.get(v.name, "")
        out[v.name] = ("Kinetics-labelled" if v.stem in LABELS else "Weizmann" if group.startswith("weizmann/")
                       else "other clips" if group == "shared/clips" or not group else "corpus")
    return out


def recognizer_for(arm: str, model_dir: Path):
    """(Recognizer, predict kwargs) of an arm."""
    from sfc_sdk.inference import Recognizer
    from sfc_sdk.model import SFCModel, load_model, resplit

    if arm in ("30views", "whole"):
        return Recognizer(model_dir), {"mode": "dense", "views": "10x3" if arm == "30views" else "whole"}
    if arm.startswith("trained="):
        return Recognizer(arm.split("=", 1)[1]), {"mode": "sfc", "ratio": 4}
    selector, split = arm.split("@")
    net, config = resplit(*load_model(model_dir), split)  # a fresh module: uniform sampling
    if selector == "novelty":
        config = replace(config, sfc=replace(config.sfc, selector="novelty"))
        net = SFCModel.around(net.backbone, config.sfc)
    elif selector != "uniform":
        raise SystemExit(f"unknown arm {arm!r}")
    return Recognizer.from_model(net, config, device="cpu"), {"mode": "sfc", "ratio": 4}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=Path("kinetics400-i3d"), help="`sfc-sdk pull kinetics400-i3d`")
    parser.add_argument("--arms", default=DEFAULT_ARMS)
    parser.add_argument("--out", default="i3d_sfc", help="results name under benchmarks/results/")
    args = parser.parse_args()

    from sfc_sdk.model import load_model, state_hash
    from sfc_sdk.training.teacher import dense_teacher_probs

    videos = sorted(p for p in args.data.iterdir() if p.suffix in VIDEO_SUFFIXES)
    if not videos:
        raise SystemExit(f"no videos in {args.data}")
    rows_path = REPO / "benchmarks" / "results" / f"{args.out}.jsonl"
    rows = [json.loads(line) for line in rows_path.read_text().splitlines()] if rows_path.is_file() else []
    done = {(r["video"], r["arm"]) for r in rows}
    arms = args.arms.split(",")
    backbone_hash = state_hash(load_model(args.model)[0].backbone)
    group = groups_of(args.data, videos)
    for arm in arms:
        todo = [v for v in videos if (v.name, arm) not in done]
        if not todo:
            continue
        rec, kwargs = recognizer_for(arm, args.model)
        for video in todo:
            tick = time.perf_counter()
            if arm == "30views":  # the teacher cache training uses: computed once per video
                probs = dense_teacher_probs(rec, [video], backbone_hash, "10x3", progress=False)[0]
            else:
                pred = rec.predict(video, top_k=len(rec.labels), **kwargs)
                probs = np.zeros(len(rec.labels), np.float32)
                probs[[t.index for t in pred.top]] = [t.score for t in pred.top]
            order = np.argsort(-probs)
            row = {"video": video.name, "group": group[video.name], "arm": arm, "top1": rec.labels[order[0]],
                   "p1": round(float(probs[order[0]]), 4), "lead": round(float(probs[order[0]] - probs[order[1]]), 4),
                   "seconds": round(time.perf_counter() - tick, 2)}
            rows.append(row)
            with open(rows_path, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"{arm:22s} {video.name:40s} {row['top1']:28s} {row['p1']:.2f} {row['seconds']:.1f}s", flush=True)
        del rec
    write_table(rows, videos, group, arms, REPO / "benchmarks" / "results" / f"{args.out}.md", args)


def write_table(rows: list[dict], videos: list[Path], group: dict[str, str], arms: list[str], out: Path,
                args: argparse.Namespace) -> None:
    by = {(r["video"], r["arm"]): r for r in rows}
    names = [v.name for v in videos]
    groups = sorted(set(group.values()))
    lines = [f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC on {describe_machine()}, "
             f"`python benchmarks/i3d_sfc.py --data {args.data.name} --arms {','.join(arms)}`: the pulled "
             f"kinetics400-i3d on {len(names)} videos of `{args.data}`; SFC arms at ratio 4 over 256 frames. "
             "Agreement: top-1 equal to 30 views' (dense 10x3).", "",
             "| arm | " + " | ".join(f"{g} agree" for g in groups) + " | all agree | top-1 (labelled) | s/video |",
             "|---|" + "---:|" * (len(groups) + 3)]
    for arm in arms:
        cells = []
        for g in [*groups, None]:
            vids = [n for n in names if g is None or group[n] == g]
            same = [by[(n, arm)]["top1"] == by[(n, "30views")]["top1"] for n in vids
                    if (n, arm) in by and (n, "30views") in by]
            cells.append(f"{sum(same)}/{len(same)} ({100 * sum(same) / max(1, len(same)):.0f}%)")
        labelled = [by[(n, arm)]["top1"] == LABELS[Path(n).stem] for n in names
                    if Path(n).stem in LABELS and (n, arm) in by]
        top1 = f"{sum(labelled)}/{len(labelled)}" if labelled else "-"
        secs = [by[(n, arm)]["seconds"] for n in names if (n, arm) in by]
        lines.append(f"| {arm} | " + " | ".join(cells) + f" | {top1} | {np.median(secs):.1f} |")
    lines += ["", "Per video (top-1, its probability):", "",
              "| video | " + " | ".join(arms) + " |", "|---|" + "---|" * len(arms)]
    for n in names:
        lines.append(f"| {n} | " + " | ".join(f"{by[(n, a)]['top1']} {by[(n, a)]['p1']:.2f}" if (n, a) in by else "-"
                                            for a in arms) + " |")
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:len(arms) + 4]))


if __name__ == "__main__":
    main()
