"""GMACs of dense sampling (1, 10, 30 views) against SFC at ratios 2, 4, 8.

    python -m benchmarks.flops            # prints the table, writes benchmarks/results/flops.md (+ .png)

Counted by torch's FlopCounterMode (convolutions and matrix products; MACs = FLOPs/2)
at each backbone's own clip length and crop; SFC takes 64 frames over the whole video
with one centre crop; dense views are clips x crops of the standard clip.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.harness import RESULTS, command, measured, write_results
from sfc_sdk import ModelConfig, SFCModel
from sfc_sdk.model import backbone_entry
from sfc_sdk.model.flops import sfc_gmacs, view_gmacs


def measure(name: str, frames: int, ratios: list[int]) -> dict:
    config = ModelConfig(backbone=name, labels=tuple(f"c{i}" for i in range(400)))
    model = SFCModel.from_config(config)
    spec = backbone_entry(name).input_spec
    one = view_gmacs(model, spec.clip_len, spec.crop_size)
    row = {"backbone": name, "split": model.backbone.split, "clip": f"{spec.clip_len}x{spec.crop_size}²",
           "1 view": one, "10 views": 10 * one, "30 views": 30 * one}
    for r in ratios:
        cost = sfc_gmacs(model, frames, r, spec.crop_size)
        row[f"SFC r{r}"] = cost.total
        row[f"head r{r}"], row[f"sfc r{r}"], row[f"tail r{r}"] = cost.head, cost.sfc, cost.tail
    return row


def _g(x: float) -> str:
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backbones", default="r3d_18,r2plus1d_18,x3d_s,r2plus1d_tiny")
    ap.add_argument("--frames", type=int, default=64, help="SFC input frames (T_in)")
    ap.add_argument("--ratios", default="2,4,8")
    ap.add_argument("--out", type=Path, default=RESULTS / "flops.md")
    args = ap.parse_args()
    ratios = [int(r) for r in args.ratios.split(",")]
    rows = [measure(n, args.frames, ratios) for n in args.backbones.split(",")]

    head = ["backbone", "split", "clip", "1 view", "10 views", "30 views", *[f"SFC r{r}" for r in ratios],
            *[f"30v / SFC r{r}" for r in ratios]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row["backbone"], row["split"], row["clip"]]
        cells += [_g(row[k]) for k in ("1 view", "10 views", "30 views")]
        cells += [_g(row[f"SFC r{r}"]) for r in ratios]
        cells += [f"{row['30 views'] / row[f'SFC r{r}']:.1f}x" for r in ratios]
        lines.append("| " + " | ".join(cells) + " |")
    split_lines = ["", f"SFC cost split, head / SFC module / tail (GMACs, {args.frames} frames):", ""]
    for row in rows:
        parts = [f"r{r}: {row[f'head r{r}']:.2f} / {row[f'sfc r{r}']:.3f} / {row[f'tail r{r}']:.2f}" for r in ratios]
        split_lines.append(f"- {row['backbone']}: " + "; ".join(parts))
    stamp = (measured(command("flops", "")) + f" (GMACs per video; SFC input {args.frames} frames, one centre crop).")
    write_results(args.out, [stamp, "", *lines, *split_lines])
    plot(rows, ratios, args.out.with_suffix(".png"))


def plot(rows: list[dict], ratios: list[int], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot (pip install 'sfc-sdk[plot]')")
        return
    labels = ["1 view", "10 views", "30 views", *[f"SFC r{r}" for r in ratios]]
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(rows)
    for i, row in enumerate(rows):
        ax.bar([x + i * width for x in range(len(labels))], [row[k] for k in labels], width, label=row["backbone"])
    ax.set_xticks([x + width * (len(rows) - 1) / 2 for x in range(len(labels))], labels)
    ax.set_yscale("log")
    ax.set_ylabel("GMACs per video (log)")
    ax.set_title("Dense sampling vs SFC: compute per video")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
