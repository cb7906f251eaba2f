"""Where one prediction's time goes, and what preprocessing costs: SFC r4 against 30 views.

    python -m benchmarks.preprocess            # bundled model, every 7th Weizmann clip, 3 rounds

Two tables. (1) Normalisation (uint8 frames -> standardised float32, channels first) of
an SFC input and of 30 views' frames: the SDK's lookup table against the per-pixel
formula it replaced (same bits), interleaved in one process. (2) The bundled model end to
end per video (decode / preprocess / network, `Prediction.timings_ms`), each round a
fresh process, with the bound it implies: SFC's time if its network ran at the dense
network's ms per GMAC, decoding and preprocessing as measured.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.harness import RESULTS, WEIZMANN, command, measured, python_code, run_json, write_results

CLIPS = WEIZMANN

WORKER = """
import glob, json, statistics, sys
from sfc_sdk import Recognizer
rec = Recognizer(device="cpu")
paths = sorted(glob.glob(sys.argv[1] + "/*/*.avi"))[::7]
rec.predict(paths[0]); rec.predict(paths[0], mode="dense", views="10x3")
out, inputs = {}, []
for name, kw in (("SFC r4", {"mode": "sfc", "ratio": 4}), ("dense 10x3", {"mode": "dense", "views": "10x3"})):
    parts = {}
    for p in paths:
        pred = rec.predict(p, **kw)
        for k, v in pred.timings_ms.items():
            parts.setdefault(k, []).append(v)
        if kw["mode"] == "sfc":
            inputs.append((pred.sampled_frames, pred.ratio))
    out[name] = {k: statistics.mean(v) for k, v in parts.items()}
out["sfc inputs"] = inputs
print(json.dumps(out))
"""


def per_pixel(frames: np.ndarray, mean: tuple, std: tuple) -> np.ndarray:
    """The formula the lookup table replaced (five passes over the frames)."""
    x = (frames.astype(np.float32) * np.float32(1 / 255) - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(3, 0, 1, 2))


def normalisation_rows(rounds: int = 20) -> list[str]:
    from sfc_sdk.video.transforms import normalize

    mean, std = (0.45, 0.42, 0.39), (1 / 255,) * 3
    rng = np.random.default_rng(0)
    rows = []
    for name, shape, calls in (("SFC input (64 frames)", (64, 112, 112, 3), 1),
                               ("30 views (16 frames each)", (16, 112, 112, 3), 30)):
        frames = rng.integers(0, 256, shape, dtype=np.uint8)
        assert np.array_equal(normalize(frames, mean, std), per_pixel(frames, mean, std))
        times: dict[str, list[float]] = {"lookup table": [], "per pixel": []}
        for _ in range(rounds):
            for arm, fn in (("lookup table", normalize), ("per pixel", per_pixel)):
                start = time.perf_counter()
                for _ in range(calls):
                    fn(frames, mean, std)
                times[arm].append((time.perf_counter() - start) * 1000)
        new, old = statistics.median(times["lookup table"]), statistics.median(times["per pixel"])
        rows.append(f"| {name} | {old:.1f} | {new:.1f} | {old / new:.1f}x |")
    return rows


def gmac_ratio(sfc_inputs: list[tuple[int, int]]) -> float:
    """30 views' GMACs over SFC's for the bundled model at 112 px, SFC averaged over the
    inputs the clips ran at (a short clip runs a shorter input at a lower ratio)."""
    from sfc_sdk import load_model
    from sfc_sdk.defaults import default_model_dir
    from sfc_sdk.model.flops import sfc_gmacs, view_gmacs

    model, _ = load_model(default_model_dir())
    cost = {key: sfc_gmacs(model, key[0], key[1], 112).total for key in set(sfc_inputs)}
    return 30 * view_gmacs(model, 16, 112) / statistics.mean(cost[key] for key in sfc_inputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=RESULTS / "preprocess.md")
    args = parser.parse_args()
    if not CLIPS.is_dir():
        sys.exit(f"error: Weizmann data not found at {CLIPS}")
    lines = [f"{measured(command('preprocess', ''))}.", "",
             "## Normalisation, ms (median of 20, interleaved; outputs identical bit for bit)", "",
             "| frames | per pixel | lookup table | faster |", "|---|---:|---:|---:|", *normalisation_rows()]
    runs = []
    for r in range(3):
        runs.append(run_json(python_code(WORKER, CLIPS), cwd=None))
        print(f"round {r + 1}: {runs[-1]}", flush=True)
    inputs = [tuple(i) for i in runs[0].pop("sfc inputs")]
    for run in runs[1:]:
        run.pop("sfc inputs")
    ratio = gmac_ratio(inputs)
    mean = {m: {k: statistics.mean(run[m][k] for run in runs) for k in runs[0][m]} for m in runs[0]}
    sfc, dense = mean["SFC r4"], mean["dense 10x3"]
    bound = sfc["decode"] + sfc["preprocess"] + dense["inference"] / ratio
    lines += ["", "## Bundled model end to end, ms per video (10 Weizmann clips, mean of 3 fresh processes)", "",
              "| method | decode | preprocess | network | total | 30 views / this |", "|---|---:|---:|---:|---:|---:|"]
    for m, t in mean.items():
        lines.append(f"| {m} | {t['decode']:.1f} | {t['preprocess']:.1f} | {t['inference']:.1f} | {t['total']:.1f} "
                     f"| {dense['total'] / t['total']:.1f}x |")
    lines.append(f"| SFC r4, network at the GMAC ratio ({ratio:.1f}x; inputs run: "
                 f"{', '.join(f'{n} frames r{r}' for n, r in sorted(set(inputs)))}) | {sfc['decode']:.1f} | "
                 f"{sfc['preprocess']:.1f} | {dense['inference'] / ratio:.1f} | {bound:.1f} | "
                 f"{dense['total'] / bound:.1f}x |")
    write_results(args.out, lines)
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
