"""Does decoding only reference frames change SFC's answers? `predict --decode reference`
against `--decode exact` with the accuracy benchmark's fold models (leave-one-actor-out,
the Jester recipe), on each test actor's Weizmann clips re-encoded to H.264 with B-frames.

    python -m benchmarks.accuracy_decode     # writes benchmarks/results/accuracy_decode.md

Weizmann's own files are MPEG-4 with I- and P-frames only, where nothing is skipped, so
each test clip and its long version (benchmarks/accuracy.py's, the clip inside its empty
scene) is written again with libx264's defaults (3 B-frames, b-pyramid, CRF 18). Fold
models come from `python -m benchmarks.accuracy --backbone jester` (same --work; missing ones
are trained first). Both modes run on the same files, interleaved per video; decode ms
are from one process on a busy or quiet machine alike, so benchmarks/decode.py has the
timing claims. Results are appended to a JSON-lines file as they come, and a re-run
only does what is missing.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from benchmarks.accuracy import CONFIGS, fold_model_args
from benchmarks.accuracy_protocol import TEST_SEED, VARIANTS, train_fold
from benchmarks.harness import command, measured, write_results
from sfc_sdk import Recognizer
from sfc_sdk.video.decode import nearest_tolerance
from sfc_sdk.video.files import scan_folder
from sfc_sdk.video.longvideo import make_long_video

MODES = ("exact", "reference")


def to_h264(source: Path, out: Path) -> Path:
    """`source` re-encoded with libx264's defaults (B-frames, b-pyramid), near-lossless."""
    import av

    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_suffix(".part.mp4")
    with av.open(str(source)) as src, av.open(str(part), "w") as dst:
        rate = src.streams.video[0].average_rate or 25
        stream = dst.add_stream("libx264", rate=rate, options={"crf": "18"})
        first = True
        for frame in src.decode(video=0):
            if first:
                stream.width, stream.height, stream.pix_fmt = frame.width, frame.height, "yuv420p"
                first = False
            # A fresh frame: a decoded one carries its picture type, and x264 would keep every I-frame
            fresh = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
            dst.mux(stream.encode(fresh.reformat(format="yuv420p")))
        dst.mux(stream.encode())
    part.rename(out)
    return out


def run_fold(actor: str, data: Path, work: Path, out_path: Path, done: set[tuple], progress: bool) -> None:
    config = CONFIGS["jester"]
    fold_dir = work / "jester" / f"fold_{actor}"
    train_fold(data, (actor,), config, fold_dir, progress)
    rec = Recognizer(fold_dir / VARIANTS[""].folder, device="cpu")
    classes, items = scan_folder(data, include=[f"{actor}_*"])
    with out_path.open("a") as out:
        for item in items:
            h264 = work / "h264"
            long = h264 / "long" / f"{item.path.stem}_long.mp4"
            if not long.exists():  # accuracy.py's long test video (same seed), written here: it may be running
                to_h264(make_long_video(item.path, h264 / "long_source", seed=TEST_SEED).path, long)
            for condition, path in (("trimmed", to_h264(item.path, h264 / "trimmed" / f"{item.path.stem}.mp4")),
                                    ("long", long)):
                for ratio in config.ratios:
                    for mode in MODES:
                        if (item.path.name, condition, ratio, mode) in done:
                            continue
                        recipe = rec.sfc_recipe(ratio, decode=mode)
                        prepared = recipe.prepare(path)
                        pred = rec.run_prepared(prepared, 5)
                        planned = recipe.plan(prepared.clip.num_frames)
                        moved = sum(a != b for a, b in zip(planned, prepared.clip.indices, strict=True))
                        record = {"actor": actor, "video": item.path.name, "condition": condition, "ratio": ratio,
                                  "mode": mode, "label": classes[item.label], "predicted": pred.label,
                                  "hit": pred.top[0].index == item.label, "frames": prepared.clip.num_frames,
                                  "tolerance": nearest_tolerance(planned) if mode == "reference" else 0,
                                  "moved": moved, "sampled": len(planned),
                                  "decode_ms": prepared.timings_ms["decode"]}
                        out.write(json.dumps(record) + "\n")
                        out.flush()
        if progress:
            print(f"fold {actor}: done", flush=True)


def table(records: list[dict], ratios: tuple[int, ...]) -> str:
    lines = ["| condition | ratio | top-1 exact | top-1 reference | same top-1 | sampled frames moved | "
             "decode ms exact | decode ms reference |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for condition in ("trimmed", "long"):
        for ratio in ratios:
            by_mode = {m: {r["video"] + r["actor"]: r for r in records
                           if r["condition"] == condition and r["ratio"] == ratio and r["mode"] == m} for m in MODES}
            keys = sorted(set(by_mode["exact"]) & set(by_mode["reference"]))
            if not keys:
                continue
            ex, ref = ([by_mode[m][k] for k in keys] for m in MODES)
            top = [100 * statistics.mean(r["hit"] for r in rows) for rows in (ex, ref)]
            same = 100 * statistics.mean(a["predicted"] == b["predicted"] for a, b in zip(ex, ref, strict=True))
            moved = 100 * sum(r["moved"] for r in ref) / sum(r["sampled"] for r in ref)
            ms = [statistics.median(r["decode_ms"] for r in rows) for rows in (ex, ref)]
            lines.append(f"| {condition} | {ratio} | {top[0]:.1f} | {top[1]:.1f} | {same:.1f} | {moved:.1f}% | "
                         f"{ms[0]:.1f} | {ms[1]:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args, folds = fold_model_args(__doc__.splitlines()[0], "accuracy_decode.md", argv)
    results_path = args.work / "jester" / "accuracy_decode.jsonl"
    results_path.parent.mkdir(parents=True, exist_ok=True)
    records = [json.loads(x) for x in results_path.read_text().splitlines()] if results_path.exists() else []
    for actor in folds:
        done = {(r["video"], r["condition"], r["ratio"], r["mode"]) for r in records if r["actor"] == actor}
        run_fold(actor, args.data, args.work, results_path, done, not args.quiet)
    records = [r for r in map(json.loads, results_path.read_text().splitlines()) if r["actor"] in folds]
    text = (f"{measured(command('accuracy_decode'))}; folds {', '.join(folds)}; "
            "the Jester recipe's fold models; test clips re-encoded to H.264 (libx264 defaults: 3 B-frames, "
            "b-pyramid; CRF 18). Decode ms: median per video in one process (timing claims: "
            "benchmarks/decode.py).\n\n" + table(records, CONFIGS["jester"].ratios) + "\n")
    write_results(args.out, text)
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
