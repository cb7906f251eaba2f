"""How to sample a video shorter than SFC's input, chosen by nested leave-one-actor-out.

    python -m benchmarks.accuracy_short      # writes benchmarks/results/accuracy_short.md

Two rules for a video with fewer than T_in x frame_stride frames (Weizmann's trimmed
clips are 36-146 frames; the Jester recipe samples T_in = 64 and trained its backbone
on clips 2 frames apart):
- `each` (the SDK's rule until 2026-12-02): under T_in frames, the largest input length
  the runtime takes, each frame once (stride about 1); from T_in on, T_in frames
  (stride 1-2.3 here, growing with the video's length);
- `stride` (`SfcRecipe.plan`'s "adapt" now): the input length whose stride n / length
  is nearest frame_stride, so motion moves as fast as in the backbone's training clips.
Both lower the ratio for a shorter input so the tail gets the same number of steps.

Per outer fold (test actor A, validation actor V = the next actor), each rule runs the
fold's inner model (trained without A and V) on V's clips, trimmed and inside their long
video; the rule with the higher mean top-1 over ratios and conditions is the fold's
choice (a tie keeps `each`, the incumbent), and its results with the outer model on A's
clips are the nested result. Fold models come from `python -m benchmarks.accuracy --backbone
jester --nested` (same --work; missing ones are trained). Evaluation only, no training:
about 10 minutes. Results are appended as they come; a re-run does what is missing.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.accuracy import ACTORS, CONFIGS, fold_model_args
from benchmarks.accuracy_protocol import TEST_SEED, inner_actor, train_fold
from benchmarks.harness import command, measured, write_results
from sfc_sdk import Recognizer
from sfc_sdk.inference.sfc_input import SfcRecipe
from sfc_sdk.video.files import scan_folder
from sfc_sdk.video.longvideo import make_long_video
from sfc_sdk.video.sampling import uniform_indices

RULES = ("each", "stride")
CONDITIONS = ("trimmed", "long")


class EachFrameOnce(SfcRecipe):
    """The incumbent rule: a video under T_in frames gives the largest input length the
    runtime takes that it has frames for, each frame once; longer ones T_in frames."""

    def plan(self, n: int) -> list[int]:
        length = n // self.unit * self.unit if self.unit else 0
        if self.unit <= n < self.frames and length in self.short_lengths:
            return uniform_indices(n, length)
        return uniform_indices(n, self.frames)


def recipe(rec: Recognizer, ratio: int, rule: str) -> SfcRecipe:
    sdk = rec.sfc_recipe(ratio)  # "adapt": the stride rule
    return sdk if rule == "stride" else EachFrameOnce(**vars(sdk))


def evaluate(model: Path, actor: str, role: str, fold: str, data: Path, work: Path, out_path: Path,
             done: set[tuple]) -> None:
    """Both rules with `model` on `actor`'s clips, trimmed and long; one JSON line each."""
    rec = Recognizer(model, device="cpu")
    classes, items = scan_folder(data, include=[f"{actor}_*"])
    with out_path.open("a") as out:
        for item in items:
            long = make_long_video(item.path, work / "long", seed=TEST_SEED)
            for condition, path in (("trimmed", item.path), ("long", long.path)):
                for ratio in CONFIGS["jester"].ratios:
                    for rule in RULES:
                        key = (fold, role, item.path.name, condition, ratio, rule)
                        if key in done:
                            continue
                        prepared = recipe(rec, ratio, rule).prepare(path)
                        pred = rec.run_prepared(prepared, 5)
                        record = dict(zip(("fold", "role", "video", "condition", "ratio", "rule"), key, strict=True))
                        record.update(actor=actor, frames=prepared.clip.num_frames, sampled=len(prepared.clip.indices),
                                      label=classes[item.label], predicted=pred.label,
                                      hit=pred.top[0].index == item.label)
                        out.write(json.dumps(record) + "\n")
                        out.flush()


def top1(records: list[dict], **where) -> float:
    rows = [r for r in records if all(r[k] == v for k, v in where.items())]
    return 100 * float(np.mean([r["hit"] for r in rows])) if rows else float("nan")


def report(records: list[dict], folds: list[str]) -> str:
    ratios = CONFIGS["jester"].ratios
    choice, lines = {}, ["Validation (each fold's inner model on its validation actor; mean over ratios and "
                         "conditions):", "", "| test actor | validation actor | each | stride | chosen |",
                         "|---|---|---:|---:|---|"]
    for fold in folds:
        score = {rule: top1(records, fold=fold, role="validation", rule=rule) for rule in RULES}
        choice[fold] = "stride" if score["stride"] > score["each"] else "each"
        lines.append(f"| {fold} | {inner_actor(fold, ACTORS)} | {score['each']:.1f} | {score['stride']:.1f} | "
                     f"{choice[fold]} |")
    lines += ["", "Test actors (outer models), top-1 %:", "",
              "| rule | " + " | ".join(f"SFC r{r} {c}" for c in CONDITIONS for r in ratios) + " |",
              "|---|" + "---:|" * (len(ratios) * len(CONDITIONS))]
    test = [r for r in records if r["role"] == "test"]
    nested = [r for r in test if r["rule"] == choice[r["fold"]]]
    for name, rows in [(rule, [r for r in test if r["rule"] == rule]) for rule in RULES] + [("nested", nested)]:
        cells = [top1(rows, condition=c, ratio=r) for c in CONDITIONS for r in ratios]
        lines.append(f"| {name} | " + " | ".join(f"{v:.1f}" for v in cells) + " |")
    misses = sorted(f"{r['video']} r{r['ratio']} ({r['frames']} frames, {r['sampled']} sampled) -> {r['predicted']}"
                    for r in nested if r["condition"] == "trimmed" and not r["hit"])
    lines += ["", "Nested misses on trimmed clips: " + ("; ".join(misses) or "none") + "."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args, folds = fold_model_args(__doc__.splitlines()[0], "accuracy_short.md", argv)
    config, work = CONFIGS["jester"], args.work / "jester"
    results = work / "accuracy_short.jsonl"
    work.mkdir(parents=True, exist_ok=True)
    records = [json.loads(x) for x in results.read_text().splitlines()] if results.exists() else []
    done = {(r["fold"], r["role"], r["video"], r["condition"], r["ratio"], r["rule"]) for r in records}
    for fold in folds:
        val = inner_actor(fold, ACTORS)
        inner_dir, outer_dir = work / f"fold_{fold}" / f"inner_{val}", work / f"fold_{fold}"
        train_fold(args.data, (fold, val), replace(config, views=()), inner_dir, progress=False)
        train_fold(args.data, (fold,), config, outer_dir, progress=False)
        evaluate(inner_dir / "sfc", val, "validation", fold, args.data, work / "short_rule", results, done)
        evaluate(outer_dir / "sfc", fold, "test", fold, args.data, work / "short_rule", results, done)
        if not args.quiet:
            print(f"fold {fold}: done", flush=True)
    records = [r for r in map(json.loads, results.read_text().splitlines()) if r["fold"] in folds]
    text = (f"{measured(command('accuracy_short'))}; folds {', '.join(folds)}; the Jester "
            "recipe's fold models (shufflenet_3d fine-tuned, SFC from 64 frames, training clips 2 frames apart); "
            "both rules on the same files.\n\n" + report(records, folds) + "\n")
    write_results(args.out, text)
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
