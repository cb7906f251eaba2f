"""One table across backbones: from scratch vs fine-tuned from pretrained weights.

    python -m benchmarks.accuracy_compare scratch=benchmarks/results/accuracy.jsonl \
        jester=benchmarks/results/accuracy_jester.jsonl --out benchmarks/results/accuracy_backbones.md

Reads the per-video results that benchmarks/accuracy.py writes next to its table (same
7 leave-one-actor-out folds, same test videos) and puts the headline methods side by
side, with the issue's targets checked.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.harness import command, today, write_results

METHODS = ("dense 1x1", "dense 10x3", "SFC r2", "SFC r4", "SFC r4 nested")
TARGETS = "dense 10x3 >= 95% trimmed; SFC r4 >= 95% trimmed, >= 90% long, >= dense 10x3 on both, >= 6x faster"


def top1(rows: list[dict], method: str, condition: str) -> float:
    hits = [r["hit"] for r in rows if r["method"] == method and r["condition"] == condition]
    return 100 * float(np.mean(hits)) if hits else float("nan")


def latency(rows: list[dict], method: str) -> float:
    ms = [r["latency_ms"] for r in rows if r["method"] == method]
    return float(np.mean(ms)) if ms else float("nan")


def compare(runs: dict[str, list[dict]]) -> str:
    lines = ["| backbone | method | top-1 trimmed | top-1 long | ms/video | faster than 30 views |",
             "|---|---|---|---|---|---|"]
    for name, rows in runs.items():
        dense = latency(rows, "dense 10x3")
        for method in METHODS:
            if not any(r["method"] == method for r in rows):
                continue
            ms = latency(rows, method)
            lines.append(f"| {name} | {method} | {top1(rows, method, 'trimmed'):.1f} | {top1(rows, method, 'long'):.1f}"
                         f" | {ms:.0f} | {dense / ms:.1f}x |")
    lines += ["", f"Targets: {TARGETS}.", ""]
    for name, rows in runs.items():
        sfc = "SFC r4 nested" if any(r["method"] == "SFC r4 nested" for r in rows) else "SFC r4"
        d_t, d_l = top1(rows, "dense 10x3", "trimmed"), top1(rows, "dense 10x3", "long")
        s_t, s_l = top1(rows, sfc, "trimmed"), top1(rows, sfc, "long")
        speed = latency(rows, "dense 10x3") / latency(rows, sfc)
        checks = {"dense 10x3 trimmed >= 95": d_t >= 95, f"{sfc} trimmed >= 95": s_t >= 95,
                  f"{sfc} long >= 90": s_l >= 90, f"{sfc} >= dense 10x3 (both)": s_t >= d_t and s_l >= d_l,
                  f"{sfc} >= 6x faster": speed >= 6}
        lines.append(f"- {name}: " + "; ".join(f"{k}: {'met' if ok else 'NOT met'}" for k, ok in checks.items()))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="NAME=PATH of an accuracy.py results .jsonl")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    runs = {}
    for spec in args.runs:
        name, _, path = spec.partition("=")
        runs[name] = [json.loads(line) for line in Path(path).read_text().splitlines()]
    sources = ", ".join(f"{name} = `{path}`" for name, _, path in (s.partition("=") for s in args.runs))
    text = (f"Compiled {today()} by `{command('accuracy_compare', '')}` from {sources}; "
            "each run's ms are from its own machine and date (see its table).\n\n" + compare(runs))
    if args.out:
        write_results(args.out, text)
    else:
        print(text)


if __name__ == "__main__":
    main()
