"""Which training recipe holds on new people? A nested leave-one-actor-out choice between recipes.

    python -m benchmarks.accuracy_recipe --arms jester,jester-sfc-clips
    python -m benchmarks.accuracy_recipe --arms jester,jester-sfc-clips --all-outer   # every arm's test rows too

Each arm is a configuration of benchmarks/accuracy.py (backbone recipe and SFC module).
Per outer fold (test actor A), with validation actor V (the next actor, fixed in advance):
every arm trains a backbone and SFC module without A and V and is scored on V (mean SFC
top-1 over its ratios, trimmed and long); the best arm (a tie keeps the earlier, the
incumbent) is the fold's choice, trained without A and tested on A. The "nested" rows
are those test results: what the choice procedure is worth on people it never saw.
The test actor never takes part in a choice.

Resumable like accuracy.py (same --work layout: WORK/ARM/fold_A, inner runs in
fold_A/inner_V), so folds an accuracy.py run already trained are reused.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.accuracy import CONFIGS, DEFAULT_DATA, plot, table
from benchmarks.accuracy_protocol import Config, inner_actor, test_fold, train_fold
from benchmarks.harness import REPO, RESULTS, command, describe_machine, today, write_results


def validation_score(data: Path, outer: str, config: Config, fold_dir: Path, progress: bool) -> float:
    """Mean SFC top-1 (%) on the validation actor of outer fold `outer`, trained without both."""
    val = inner_actor(outer, config.actors)
    inner = replace(config, views=())
    inner_dir = fold_dir / f"inner_{val}"
    train_fold(data, (outer, val), inner, inner_dir, progress)
    results = test_fold(data, val, inner, inner_dir, progress)
    return 100 * float(np.mean([r["hit"] for r in results]))


def outer_results(data: Path, actor: str, config: Config, fold_dir: Path, progress: bool) -> list[dict]:
    train_fold(data, (actor,), config, fold_dir, progress)
    return test_fold(data, actor, config, fold_dir, progress)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arms", default="jester,jester-sfc-clips",
                    help=f"comma-separated configurations, incumbent first (known: {', '.join(CONFIGS)})")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "accuracy")
    ap.add_argument("--folds", help="comma-separated test actors (default: all)")
    ap.add_argument("--all-outer", action="store_true", help="also test every arm on every fold, not only the chosen")
    ap.add_argument("--out", type=Path, default=RESULTS / "accuracy_recipe.md")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    arms = args.arms.split(",")
    unknown = [a for a in arms if a not in CONFIGS]
    if unknown or not args.data.is_dir():
        sys.exit(f"error: unknown arms {unknown}" if unknown else f"error: Weizmann data not found at {args.data}")
    configs = {a: CONFIGS[a] for a in arms}
    first = configs[arms[0]]
    folds = args.folds.split(",") if args.folds else list(first.folds)
    progress = not args.quiet

    choices: dict[str, tuple[str, dict[str, float]]] = {}
    by_arm: dict[str, list[dict]] = {a: [] for a in arms}
    nested: list[dict] = []
    for actor in folds:
        scores = {a: validation_score(args.data, actor, c, args.work / a / f"fold_{actor}", progress)
                  for a, c in configs.items()}
        chosen = max(arms, key=lambda a: (scores[a], -arms.index(a)))
        choices[actor] = (chosen, scores)
        print(f"fold {actor}: validation {scores} -> {chosen}", flush=True)
        for a in arms if args.all_outer else [chosen]:
            rows = outer_results(args.data, actor, configs[a], args.work / a / f"fold_{actor}", progress)
            by_arm[a] += rows
            if a == chosen:
                nested += rows

    names = [m for m, *_ in first.methods()]
    stamp = (f"Measured {today()} on {describe_machine()}, torch CPU, `{command('accuracy_recipe')}`; "
             f"folds {', '.join(folds)}.")
    lines = [stamp, "", "Recipe chosen per fold on its validation actor (mean SFC top-1 over ratios and both "
             "conditions, %), never on the test actor:", "",
             "| test actor | validation actor | " + " | ".join(arms) + " | chosen |",
             "|---|---|" + "---|" * (len(arms) + 1)]
    for actor, (chosen, scores) in choices.items():
        lines.append(f"| {actor} | {inner_actor(actor, first.actors)} | "
                     + " | ".join(f"{scores[a]:.1f}" for a in arms) + f" | {chosen} |")
    lines += ["", "## Nested: each fold tested with the recipe its validation actor chose", "",
              table(nested, names, folds)]
    for a in arms:
        if {r["actor"] for r in by_arm[a]} == set(folds):
            lines += ["", f"## {a} on every fold", "", table(by_arm[a], names, folds)]
    write_results(args.out, lines)
    plot(nested, names, args.out.with_suffix(".png"))
    print(f"written: {args.out} (+ .png)")


if __name__ == "__main__":
    main()
