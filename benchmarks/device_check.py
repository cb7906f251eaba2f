"""Checks that need what this CPU machine lacks: torchvision itself, and a CUDA GPU.

    python -m benchmarks.device_check [--video CLIP]

1. torchvision parity: where `torchvision` imports, build its r3d_18 and r2plus1d_18,
   load their state dicts into ours with no renaming, and compare logits.
2. CUDA: where a GPU is visible, run the bundled model through `Recognizer` on CPU
   and CUDA (SFC and 30-view dense), compare scores and kept moments, and time both.
3. TensorRT and ONNX Runtime CUDA: where a GPU is visible, convert the bundled model
   for `--target cuda`, build the engine, and compare it with PyTorch on the sample.
Prints a short report; exits non-zero if a check fails.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from sfc_sdk import Recognizer, create_backbone
from sfc_sdk.defaults import SAMPLE_CLIP as SAMPLE


def torchvision_parity() -> list[str]:
    try:
        from torchvision.models import video as tv
    except Exception as e:  # noqa: BLE001 - any import failure means "not available here"
        return [f"torchvision: not available ({type(e).__name__}); skipped"]
    lines = []
    torch.manual_seed(0)
    x = torch.randn(2, 3, 16, 112, 112)
    for name in ("r3d_18", "r2plus1d_18"):
        theirs = getattr(tv, name)(num_classes=400).eval()
        ours = create_backbone(name, num_classes=400).eval()
        ours.load_state_dict(theirs.state_dict(), strict=True)
        with torch.no_grad():
            diff = (theirs(x) - ours(x)).abs().max().item()
        ok = diff < 1e-4
        lines.append(f"torchvision {name}: keys load strictly, max |logit diff| {diff:.2e} {'OK' if ok else 'FAIL'}")
    return lines


def cuda_check(video: str) -> list[str]:
    if not torch.cuda.is_available():
        return ["cuda: no GPU visible; skipped"]
    lines = [f"cuda: {torch.cuda.get_device_name(0)}, torch {torch.__version__}"]
    cpu, gpu = Recognizer(device="cpu"), Recognizer(device="cuda")
    for kwargs in ({"mode": "sfc"}, {"mode": "dense", "views": "10x3"}):
        a, b = cpu.predict(video, **kwargs), gpu.predict(video, **kwargs)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            b = gpu.predict(video, **kwargs)
            times.append((time.perf_counter() - start) * 1000)
        same_top = [t.index for t in a.top] == [t.index for t in b.top]
        diff = max(abs(x.score - y.score) for x, y in zip(a.top, b.top, strict=True))
        same_kept = a.kept == b.kept
        ok = same_top and diff < 1e-3 and same_kept
        lines.append(f"  {kwargs}: top-5 same={same_top}, max |score diff| {diff:.1e}, kept same={same_kept}, "
                     f"GPU median {sorted(times)[2]:.1f} ms/video (inference {b.timings_ms['inference']:.1f} ms) "
                     f"{'OK' if ok else 'FAIL'}")
    return lines


def tensorrt_check(video: str) -> list[str]:
    if not torch.cuda.is_available():
        return ["tensorrt: no GPU visible; skipped"]
    import tempfile

    from sfc_sdk import convert
    from sfc_sdk.errors import SfcError

    lines = []
    out = tempfile.mkdtemp() + "/bundle"
    convert(None, "cuda", out, log=lambda _: None)
    ref = Recognizer(device="cpu").predict(video, short="repeat")
    for runtime, device in (("tensorrt", "cuda"), ("onnxruntime", "cuda")):
        try:
            rec = Recognizer.load(out, runtime=runtime, device=device)
            start = time.perf_counter()
            rec.predict(video)  # first call: engine build or provider set-up
            first = (time.perf_counter() - start) * 1000
            times = []
            for _ in range(5):
                start = time.perf_counter()
                pred = rec.predict(video)
                times.append(pred.timings_ms["inference"])
        except SfcError as e:
            lines.append(f"{runtime}/{device}: unavailable: {e}")
            continue
        same = pred.label == ref.label and pred.kept == ref.kept
        diff = abs(pred.score - ref.score)
        lines.append(f"{runtime}/{device}: label {pred.label} (torch {ref.label}), kept same={pred.kept == ref.kept}, "
                     f"|score diff| {diff:.1e}, first call {first:.0f} ms, inference median {sorted(times)[2]:.1f} ms "
                     f"{'OK' if same and diff < 1e-2 else 'FAIL'}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", default=str(SAMPLE))
    args = ap.parse_args()
    lines = torchvision_parity() + cuda_check(args.video) + tensorrt_check(args.video)
    print("\n".join(lines))
    sys.exit(1 if any(line.endswith("FAIL") for line in lines) else 0)


if __name__ == "__main__":
    main()
