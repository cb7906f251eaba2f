"""SFC on I3D against its baselines, per clip: top-1 agreement with 30 views, top-1 where known.

    python -m benchmarks.i3d_sfc --data DIR [--model kinetics400-i3d] [--arms ARM,...] [--out NAME]

DIR: a folder of videos (benchmarks/i3d_data.py's val/ or test/). Every arm predicts every
video the way a user's `predict` does (decode, sample, run); arms:

    30views               dense 10x3, the paper's baseline and the reference (teacher cache)
    whole                 I3D's own protocol: one centre-cropped pass over the whole video
    uniform@SPLIT[:F]     SFC at ratio 4 over F frames (default: the model's 256), head ending
                          after SPLIT, untrained module (uniform sampling)
    novelty@SPLIT[:F]     the same with the training-free selector (distance from the median step)
    trained=MODEL_DIR[:F] a trained SFC model (its own split)

Long videos (DIR named *_long, from i3d_data.py, listed in LONG.tsv beside it): the
reference is 30 views of the clip alone (what the action is), not of the long video; the
30views arm still runs on the long video, diluted by the footage around the action.

Each arm is measured against the reference: top-1 agreement (on all videos, and on those where
the reference is clearly sure), whether the reference's top-1 is in the arm's top 5, and
KL(reference || arm); and top-1 on the clips whose Kinetics-400 label is known (LABELS).
Each arm's class probabilities are kept per video in --work as they are computed (a rerun
computes only what is missing); rows go to benchmarks/results/NAME.jsonl, the table to NAME.md, with machine and date.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.harness import command, measured, results_path, utc_now, write_results

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".gif")
# Clips whose Kinetics-400 class is known (shared/data/clips, tests/data/clips).
LABELS = {"arm_wrestling_kinetics": "arm wrestling", "flipping_pancake_kinetics": "flipping pancake",
          "v_CricketShot_g04_c01_rgb": "playing cricket"}
CLEAR_LEAD = 0.10  # 30 views' top-1 minus its second's: below this a disagreement is a near-tie
DEFAULT_ARMS = "30views,whole,uniform@stem,novelty@stem,uniform@Mixed_3c,novelty@Mixed_3c"


def groups_of(data: Path, videos: list[Path], source: dict[str, Path]) -> dict[str, str]:
    """video name -> kind of footage (of the clip inside, for a long video), from i3d_data.py's
    SPLIT.tsv beside DIR."""
    split = data.parent / "SPLIT.tsv"
    groups = dict(line.split("\t")[::2] for line in split.read_text().splitlines()[1:]) if split.is_file() else {}
    out = {}
    for v in videos:
        clip = source.get(v.name, v)
        group = groups.get(clip.name, "")
        out[v.name] = ("Kinetics-labelled" if clip.stem in LABELS else "Weizmann" if group.startswith("weizmann/")
                       else "other clips" if group == "shared/clips" or not group else "corpus")
    return out


def clips_of(data: Path) -> dict[str, Path]:
    """long video name -> the clip inside it (LONG.tsv beside DIR); {} for other folders."""
    table = data.parent / "LONG.tsv"
    if not data.name.endswith("_long") or not table.is_file():
        return {}
    rows = [line.split("\t") for line in table.read_text().splitlines()[1:]]
    return {r[0]: data.parent / r[1] / r[2] for r in rows}


def recognizer_for(arm: str, model_dir: Path):
    """(Recognizer, predict kwargs) of an arm."""
    from sfc_sdk.inference import Recognizer
    from sfc_sdk.model import SFCModel, load_model, resplit

    if arm in ("30views", "whole"):
        return Recognizer(model_dir), {"mode": "dense", "views": "10x3" if arm == "30views" else "whole"}
    arm, _, frames = arm.partition(":")
    sfc = {"mode": "sfc", "ratio": 4} | ({"frames": int(frames)} if frames else {})
    if arm.startswith("trained="):
        return Recognizer(arm.split("=", 1)[1]), sfc
    selector, split = arm.split("@")
    net, config = resplit(*load_model(model_dir), split)  # a fresh module: uniform sampling
    if selector == "novelty":
        config = replace(config, sfc=replace(config.sfc, selector="novelty"))
        net = SFCModel.around(net.backbone, config.sfc)
    elif selector != "uniform":
        raise SystemExit(f"unknown arm {arm!r}")
    return Recognizer.from_model(net, config, device="cpu"), sfc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=Path("kinetics400-i3d"), help="`sfc-sdk pull kinetics400-i3d`")
    parser.add_argument("--arms", default=DEFAULT_ARMS)
    parser.add_argument("--out", default="i3d_sfc", help="results name under benchmarks/results/")
    parser.add_argument("--work", type=Path, help="where each arm's class probabilities are kept "
                        "(default: the user cache, bench-i3d-sfc/OUT)")
    args = parser.parse_args()

    from sfc_sdk.defaults import cache_dir
    from sfc_sdk.model import load_model, state_hash
    from sfc_sdk.training.teacher import dense_teacher_probs

    videos = sorted(p for p in args.data.iterdir() if p.suffix in VIDEO_SUFFIXES)
    if not videos:
        raise SystemExit(f"no videos in {args.data}")
    work = args.work or cache_dir() / "bench-i3d-sfc" / args.out
    work.mkdir(parents=True, exist_ok=True)
    arms = ["30views", *(a for a in args.arms.split(",") if a != "30views")]  # the reference comes first
    net, config = load_model(args.model)
    backbone_hash, labels = state_hash(net.backbone), config.labels
    del net
    timing = work / "seconds.json"  # wall time per video and arm, kept with the probabilities
    seconds = json.loads(timing.read_text()) if timing.is_file() else {}
    source = clips_of(args.data)  # long video -> the clip inside it
    group = groups_of(args.data, videos, source)
    todo = [v for v in videos if not (work / probs_name(v.name, "reference")).is_file()]
    if todo:
        from sfc_sdk.inference import Recognizer

        rec = Recognizer(args.model)
        for video in todo:  # 30 views of the video itself, or of the clip inside a long video
            clip = source.get(video.name, video)
            np.save(work / probs_name(video.name, "reference"),
                    dense_teacher_probs(rec, [clip], backbone_hash, "10x3", progress=False)[0])
        del rec
    for arm in arms:
        todo = [v for v in videos if not (work / probs_name(v.name, arm)).is_file()]
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
            if arm != "30views":  # read from the teacher cache where training put it: not a timing
                seconds[probs_name(video.name, arm)] = time.perf_counter() - tick
            np.save(work / probs_name(video.name, arm), probs)
            timing.write_text(json.dumps(seconds))
            print(f"{arm:26s} {video.name:40s} {rec.labels[int(probs.argmax())]:28s} {probs.max():.2f} "
                  f"{time.perf_counter() - tick:.1f}s", flush=True)
        del rec
    rows = [row(video, group[video.name], arm, labels, work, seconds.get(probs_name(video.name, arm)),
                source.get(video.name, video)) for arm in arms for video in videos]
    write_table(rows, arms, sorted(set(group.values())), results_path(args.out), args, long=bool(source))


def probs_name(video: str, arm: str) -> str:
    return f"{video}__{arm.replace('/', '_').replace('=', '-').replace(':', '_')}.npy"


def row(video: Path, group: str, arm: str, labels: tuple[str, ...], work: Path, seconds: float | None,
        clip: Path) -> dict:
    """One video under one arm, measured against 30 views: top-1 agreement, whether 30 views'
    top-1 is in the arm's top 5, and KL(30 views || arm) in nats."""
    probs = np.load(work / probs_name(video.name, arm))
    ref = np.load(work / probs_name(video.name, "reference"))
    order, ref_order = np.argsort(-probs), np.argsort(-ref)
    kl = float(np.sum(ref * (np.log(np.maximum(ref, 1e-8)) - np.log(np.maximum(probs, 1e-8)))))
    return {"video": video.name, "group": group, "arm": arm, "top1": labels[order[0]],
            "p1": round(float(probs[order[0]]), 4), "ref_top1": labels[ref_order[0]],
            "ref_lead": round(float(ref[ref_order[0]] - ref[ref_order[1]]), 4),
            "agree": bool(order[0] == ref_order[0]), "ref_in_top5": bool(ref_order[0] in order[:5]),
            "kl": round(kl, 4), "label": LABELS.get(clip.stem),
            "seconds": None if seconds is None else round(seconds, 2)}


def write_table(rows: list[dict], arms: list[str], groups: list[str], out: Path, args: argparse.Namespace,
                long: bool) -> None:
    def frac(hits: list[bool]) -> str:
        return f"{sum(hits)}/{len(hits)} ({100 * sum(hits) / max(1, len(hits)):.0f}%)" if hits else "-"

    of = {arm: [r for r in rows if r["arm"] == arm] for arm in arms}
    n = len(of["30views"])
    clear = sum(r["ref_lead"] >= CLEAR_LEAD for r in of["30views"])
    cmd = command("i3d_sfc", f"--data {args.data.parent.name}/{args.data.name} --arms {','.join(arms)}")
    lines = [f"{measured(cmd, when=utc_now() + ' UTC')}: the pulled kinetics400-i3d on {n} videos; SFC arms at "
             "ratio 4 over 256 frames "
             "unless `:F` says otherwise. "
             + ("Long videos: each a clip inside unrelated footage, a quarter of the whole; the reference is 30 views "
                "(dense 10x3) of the clip alone. " if long else "The reference is 30 views (dense 10x3). ")
             + "Against the reference: *agree*, the same top-1; *clear*, the same "
             f"on the {clear} videos where its top-1 leads its second by >= {CLEAR_LEAD} in probability; "
             "*top-5*, its top-1 among the arm's five; *KL*, mean KL(reference || arm) in nats. *Top-1*: on "
             "clips whose Kinetics class is known. *s/video*: wall time of `predict` in this process (median; 30 "
             "views come from the teacher cache).", "",
             "| arm | agree | clear | top-5 | KL | top-1 (labelled) | s/video |", "|---|---:|---:|---:|---:|---:|---:|"]
    for arm in arms:
        rs = of[arm]
        secs = [r["seconds"] for r in rs if r["seconds"] is not None]
        lines.append(f"| {arm} | {frac([r['agree'] for r in rs])} | "
                     f"{frac([r['agree'] for r in rs if r['ref_lead'] >= CLEAR_LEAD])} | "
                     f"{frac([r['ref_in_top5'] for r in rs])} | {np.mean([r['kl'] for r in rs]):.3f} | "
                     f"{frac([r['top1'] == r['label'] for r in rs if r['label']])} | "
                     f"{f'{np.median(secs):.1f}' if secs else '-'} |")
    lines += ["", "Agreement by kind of footage:", "", "| arm | " + " | ".join(groups) + " |",
              "|---|" + "---:|" * len(groups)]
    lines += [f"| {arm} | " + " | ".join(frac([r["agree"] for r in of[arm] if r["group"] == g]) for g in groups)
              + " |" for arm in arms]
    lines += ["", "Per video: each arm's top-1 and its probability; the reference's top-1 and its lead.", "",
              "| video | reference | " + " | ".join(arms) + " |", "|---|---|" + "---|" * len(arms)]
    for i, ref in enumerate(of["30views"]):
        cells = [f"{of[a][i]['top1']} {of[a][i]['p1']:.2f}" for a in arms]
        lines.append(f"| {ref['video']} | {ref['ref_top1']} ({ref['ref_lead']:.2f}) | " + " | ".join(cells) + " |")
    write_results(out, lines, rows=rows, echo=False)
    print("\n".join(lines[:len(arms) + 4]))


if __name__ == "__main__":
    main()
