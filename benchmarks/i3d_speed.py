"""SFC on I3D against 30 views and I3D's one pass: end-to-end time and memory, per runtime.

    python -m benchmarks.i3d_speed --model kinetics400-i3d/ --sfc TRAINED_DIR [--video V] [--repeats 3]
        [--openvino WORK] [--load numpy] [--arms torch,openvino]

One process per measurement (fresh interpreter), arms interleaved round-robin, the first
arm rotating each repeat. In each process the model loads, then `predict` runs the video
--calls times; *e2e ms* is the median warm call (decode + preprocess + network, what a
service pays per video), the first call is kept as *cold*. *Inference MB*: the process's
peak RSS over the calls (its high-water mark reset once the model is loaded, so loading's own
peak is not counted) minus its RSS then (frames, activations, workspace).

Arms on PyTorch CPU (model directories, `Recognizer.predict`):
    30 views: dense 10x3 on the pulled model   whole: dense `whole` (I3D's own protocol)
    SFC: the SFC model (--sfc) at ratio 4
With --openvino WORK, the same three on OpenVINO FP32, from bundles `sfc-sdk convert` writes
into WORK once (kept): the SFC model's bundle (`predict` as is); for 30 views, a bundle of the
pulled model at `--frames 64 --ratio 1` (I3D on one clip: an untrained module at ratio 1 keeps
every step) run on each of the 30 views `predict --mode dense` decodes and crops; for the one
pass, `--frames 256 --ratio 1` (every frame of a 10-s video at 25 fps, spread over longer ones).
As `predict` runs them, the SFC and one-pass bundles take the uint8 crop (normalised in the
graph); the 30 views go in as float, through a float-only runtime compiled before the call.
GMAC of each arm beside it. Writes benchmarks/results/i3d_speed.md (--out).

--load KIND: every process runs beside a competitor on every core (benchmarks/contention.py's:
`numpy`, an OpenBLAS matrix-multiply loop), started before the model loads and stopped after;
writes benchmarks/results/i3d_speed_loaded.md unless --out says. --arms: the runtimes to run.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from benchmarks.harness import (
    CLI,
    CLIPS,
    RESULTS,
    command,
    interleave,
    measured,
    median,
    python_code,
    run_json,
    utc_now,
    write_results,
)

VIDEO = CLIPS / "arm_wrestling_kinetics.mp4"
WORKER = r"""
import json, sys, time
import numpy as np
from sfc_sdk import Recognizer
from sfc_sdk.inference.memory import peak_rss_mb, reset_peak_rss
kind, model, video, calls = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

if kind == "views":  # 30 views through a 64x1 clip bundle: predict's own decode and crops
    from sfc_sdk.bundle import Bundle
    from sfc_sdk.runtimes.openvino_runtime import OpenVINORuntime
    from sfc_sdk.video.decode import sample_frames
    from sfc_sdk.video.preprocess import dense_input, dense_plan
    from sfc_sdk.video.sampling import Views
    bundle = Bundle.open(model)
    spec, labels = bundle.manifest.model.input_spec, bundle.manifest.model.labels
    views = Views.parse("10x3")
    plan, short = dense_plan(spec, views)
    floats = OpenVINORuntime(bundle, uint8_input=False)  # the views are float

    def run():
        batch = dense_input(sample_frames(video, plan, short).frames, spec, views)
        logits = np.stack([floats.run_sfc(v[None], 1)[0][0] for v in batch])
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs = (probs / probs.sum(1, keepdims=True)).mean(0)
        return labels[int(probs.argmax())]
else:
    rec = Recognizer(model, device="cpu")
    args = {"30views": dict(mode="dense", views="10x3"), "whole": dict(mode="dense", views="whole"),
            "sfc": dict(ratio=4)}.get(kind)
    if args is None:  # "frames:N": a bundle of the network at ratio 1 over N frames
        args = dict(frames=int(kind.split(":")[1]), ratio=1)
    run = lambda: rec.predict(video, **args).label
if not reset_peak_rss():  # the peak of what follows, not of loading: it starts at the RSS now
    sys.exit("peak memory is measured on Linux only (/proc/self/clear_refs)")
loaded = peak_rss_mb()
times = []
for _ in range(calls):
    tick = time.perf_counter()
    label = run()
    times.append((time.perf_counter() - tick) * 1000)
peak = peak_rss_mb()
warm = sorted(times[1:] or times)
print(json.dumps({"cold_ms": times[0], "ms": warm[len(warm) // 2], "loaded_mb": loaded,
                  "inference_mb": peak - loaded, "label": label}))
"""


def convert(model: Path, out: Path, extra: list[str]) -> Path:
    if not (out / "manifest.json").is_file():
        print(f"converting {model} -> {out} {' '.join(extra)}", file=sys.stderr, flush=True)
        subprocess.run([str(CLI), "convert", str(model), "--target", "openvino",
                        "--precision", "fp32", "--output", str(out), *extra], check=True)
    return out


@contextlib.contextmanager
def competing(kind: str | None) -> Iterator[None]:
    """A competitor on every core while the block runs (none for None)."""
    if kind is None:
        yield
        return
    from benchmarks.contention import start_competitor

    proc = start_competitor(kind, [], own_session=False)
    try:
        yield
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("kinetics400-i3d"), help="`sfc-sdk pull kinetics400-i3d`")
    parser.add_argument("--sfc", type=Path, required=True, help="the SFC model directory to measure")
    parser.add_argument("--video", type=Path, default=VIDEO)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--calls", type=int, default=3, help="predict calls per process (the first is cold)")
    parser.add_argument("--openvino", type=Path, help="work folder for the OpenVINO bundles (also runs those arms)")
    parser.add_argument("--load", choices=("numpy", "torch"), help="run beside this competitor on every core")
    parser.add_argument("--arms", default="torch,openvino", help="runtimes to measure (openvino needs --openvino)")
    parser.add_argument("--out", type=Path, help="default: benchmarks/results/i3d_speed.md (_loaded with --load)")
    args = parser.parse_args()
    args.out = args.out or RESULTS / f"i3d_speed{'_loaded' if args.load else ''}.md"
    runtimes = set(args.arms.split(","))

    from sfc_sdk.model import load_model
    from sfc_sdk.model.flops import sfc_gmacs, view_gmacs

    net, config = load_model(args.model)
    sfc_net, sfc_config = load_model(args.sfc)
    sfc_cost = sfc_gmacs(sfc_net, sfc_config.sfc.frames, 4, 224).total
    whole_frames = 248  # a 10-s video at 25 fps, as a multiple of I3D's temporal stride
    gmac = {"30views": 30 * view_gmacs(net, 64, 224), "whole": view_gmacs(net, whole_frames, 224), "sfc": sfc_cost}
    arms = {}
    if "torch" in runtimes:
        arms = {f"torch {k}": (k, str(m)) for k, m in (("30views", args.model), ("whole", args.model),
                                                       ("sfc", args.sfc))}
    if args.openvino and "openvino" in runtimes:
        arms["openvino 30views"] = ("views", str(convert(args.model, args.openvino / "clip64", ["--frames", "64",
                                                                                             "--ratio", "1"])))
        arms["openvino whole"] = ("frames:256", str(convert(args.model, args.openvino / "whole256",
                                                          ["--frames", "256", "--ratio", "1"])))
        arms["openvino sfc"] = ("sfc", str(convert(args.sfc, args.openvino / "sfc", [])))
    names = list(arms)

    def measure(name: str, rep: int) -> dict:
        kind, model = arms[name]
        with competing(args.load):
            return run_json(python_code(WORKER, kind, model, args.video, args.calls), cwd=None, what=name)

    def report(name: str, rep: int, result: dict) -> None:
        print(f"repeat {rep + 1}/{args.repeats} {name}: {result['ms']:.0f} ms", file=sys.stderr, flush=True)

    runs = interleave(names, args.repeats, measure, progress=report)

    def med(name: str, key: str) -> float:
        return median(r[key] for r in runs[name])

    options = (f"--sfc {args.sfc.name}{' --openvino WORK' if args.openvino else ''}"
               f"{f' --load {args.load}' if args.load else ''}"
               f"{f' --arms {args.arms}' if args.arms != 'torch,openvino' else ''}")
    cmd = command("i3d_speed", options)
    load = (f" Every process beside a competitor on every core (`{args.load}` matrix-multiply loop)."
            if args.load else "")
    lines = [f"{measured(cmd, when=utc_now() + ' UTC')}: video `{args.video.name}`; medians over {args.repeats} "
             f"fresh processes, arms interleaved.{load} "
             f"SFC: `{args.sfc.name}` (head ending after {sfc_config.split}, {sfc_config.sfc.frames} frames, ratio 4). "
             f"GMAC of the whole pass: {whole_frames} frames.", "",
             "| arm | GMAC | e2e ms (cold) | SFC faster by | inference MB | SFC uses less by | top-1 |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for name in names:
        runtime, kind = name.split(" ", 1)
        sfc = f"{runtime} sfc"
        speedup = f"{med(name, 'ms') / med(sfc, 'ms'):.2f}x (GMAC {gmac[kind] / gmac['sfc']:.2f}x)"
        memory = f"{med(name, 'inference_mb') / max(1.0, med(sfc, 'inference_mb')):.1f}x"
        lines.append(f"| {name} | {gmac[kind]:.0f} | {med(name, 'ms'):.0f} ({med(name, 'cold_ms'):.0f}) | "
                     f"{speedup if kind != 'sfc' else '-'} | {med(name, 'inference_mb'):.0f} | "
                     f"{memory if kind != 'sfc' else '-'} | {runs[name][-1]['label']} |")
    write_results(args.out, lines)


if __name__ == "__main__":
    main()
