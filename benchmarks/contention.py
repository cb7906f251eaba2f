"""Latency on a shared CPU: `watch` per window and `predict` per video, quiet and beside a
competing multithreaded process, on every runtime.

    python -m benchmarks.contention                          # 4 runtimes, 3 rounds, OpenBLAS competitor
    python -m benchmarks.contention --competitor-session own   # the competitor as a separate service
    python -m benchmarks.contention --rounds 2 --runtimes torch --load torch
    python -m benchmarks.contention --runtimes torch --label candidates \
        --variant passive:OMP_WAIT_POLICY=PASSIVE --variant one-thread:OMP_NUM_THREADS=1   # settings compared

An edge device always shares its CPU (a frame grabber, a UI, another model). For each
runtime (torch on the bundled model directory; onnxruntime, openvino and tflite on
bundles of it made once with `sfc-sdk convert --target onnx|openvino|tflite` and kept
in --work), each arm in a fresh process:

  * watch: `Recognizer.stream` (what `sfc-sdk watch` runs) over actor lena's 10 Weizmann
    clips back to back (about 30 s at 25 fps, 4 s windows every 1 s; the reader thread
    decodes while the runtime runs): each window's compute latency, after a 3-window
    warm-up stream;
  * predict: `Recognizer.predict` on CLIPS real Weizmann clips (two actors, every class),
    wall time per video (decode + preprocess + model), after one warm-up pass over them;

quiet, and beside a competitor started just before and stopped just after: a matrix
multiply loop with as many threads as cores (numpy/OpenBLAS by default, or torch), or a
second `predict` loop of this SDK (--load predict: it runs this SDK, so a change to the
SDK changes the competitor too). Quiet and loaded alternate, and their order swaps every
round. Latencies of all rounds are pooled: median and p90, and loaded / quiet of the
medians against the target (loaded within 2.5x of quiet); predict also gives the median
of its inference part alone. The machine's load average is recorded before and after
each arm: other work on the machine is in every number.

--variant NAME:VAR=VALUE,VAR=VALUE adds the same arms run with that environment (say, a
candidate thread setting; `threads=N` is the Recognizer's `threads` option instead) to
every round, interleaved with the others; the SDK as it is runs as variant "sdk" unless
--no-sdk-variant.

Every run is kept in benchmarks/results/contention.json under its --label (a run with a
label already there replaces it), and contention.md shows them all.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.harness import (
    CLI,
    REPO,
    RESULTS,
    WEIZMANN,
    describe_machine,
    module_command,
    run_json,
    today,
    write_results,
)

DATA = WEIZMANN
RUNTIMES = {"torch": None, "onnxruntime": "onnx", "openvino": "openvino", "tflite": "tflite"}  # -> convert target
TARGET_RATIO = 2.5  # loaded median within 2.5x of quiet
WINDOW_S, STRIDE_S = 4.0, 1.0  # watch's defaults
CLIPS = 20
ACTORS = ("daria", "lena")
WORKER_TIMEOUT_S = 600

COMPETITORS = {
    # OpenBLAS's threads (numpy's default: one per core) spin and yield while they wait.
    "numpy": "import numpy as np\na = np.random.rand(512, 512)\nprint('ready', flush=True)\nwhile True:\n    a @ a\n",
    "torch": ("import os, torch\ntorch.set_num_threads(os.cpu_count())\na = torch.randn(512, 512)\n"
              "print('ready', flush=True)\nwhile True:\n    a @ a\n"),
    "predict": ("import sys\nfrom sfc_sdk import Recognizer\nrec = Recognizer(runtime='torch')\nclips = sys.argv[1:]\n"
                "rec.predict(clips[0])\nprint('ready', flush=True)\nwhile True:\n    for c in clips:\n"
                "        rec.predict(c)\n"),
}


# --- inputs ------------------------------------------------------------------------
def ensure_bundle(work: Path, target: str) -> Path:
    """`sfc-sdk convert --target TARGET` of the bundled model, made again when the bundled
    model changed since."""
    from sfc_sdk import load_model
    from sfc_sdk.defaults import default_model_dir

    out = work / target
    manifest = out / "manifest.json"
    current = json.loads(json.dumps(load_model(default_model_dir())[1].to_dict()))  # tuples as JSON has them
    if not manifest.is_file() or json.loads(manifest.read_text()).get("model") != current:
        print(f"converting {target} ...", flush=True)
        subprocess.run([str(CLI), "convert", "--target", target, "-o", str(out), "--overwrite"], check=True,
                       stdout=subprocess.DEVNULL)
    return out


def watch_video(data: Path, work: Path) -> Path:
    from benchmarks.stream import lena_video  # benchmarks/stream.py's long real video

    out = work / "lena_all.avi"
    if not out.is_file():
        lena_video(data, out)
    return out


def predict_clips(data: Path, n: int) -> list[str]:
    clips = sorted(str(c) for c in data.glob("*/*.avi") if c.name.split("_")[0] in ACTORS)
    return clips[:n]


# --- one arm, in fresh processes -----------------------------------------------------
def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def start_competitor(kind: str, clips: list[str], own_session: bool) -> subprocess.Popen:
    """`own_session`: in a session of its own, as a separate service would be; otherwise in
    this one, as a second command from the same shell. Linux's scheduler shares the CPU
    fairly between sessions (autogroups) first, then between the threads inside one."""
    cores = str(os.cpu_count())
    env = {**os.environ, "OPENBLAS_NUM_THREADS": cores}  # the competitor as shipped: none of --variant
    proc = subprocess.Popen([sys.executable, "-c", COMPETITORS[kind], *clips], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=own_session)
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise RuntimeError(f"the {kind} competitor did not start")
    time.sleep(0.5)  # its threads running, not starting
    return proc


def run_worker(task: str, runtime: str, model: Path | None, inputs: list[str], env: dict[str, str]) -> dict:
    """One arm's measurement in a fresh process; the variant's `threads` goes to the Recognizer."""
    env = dict(env)
    threads = env.pop("threads", None)
    cmd = module_command("contention", "--worker", task, "--runtime", runtime, "--inputs", json.dumps(inputs),
                         *(["--model", model] if model else []), *(["--threads", threads] if threads else []))
    return run_json(cmd, env={**os.environ, **env}, timeout=WORKER_TIMEOUT_S, what=f"{task} on {runtime}")


def worker(task: str, runtime: str, model: str | None, inputs: list[str], threads: int | None) -> None:
    """watch: `Recognizer.stream` (what `sfc-sdk watch` runs) over the video, each window's
    compute latency, after a 3-window warm-up stream; predict: wall time per video, after a
    warm-up pass (a bundle makes each short input's session on first use)."""
    from sfc_sdk import Recognizer

    rec = Recognizer(model, runtime=runtime, threads=threads)
    if task == "watch":
        list(rec.stream(inputs[0], window_s=WINDOW_S, stride_s=STRIDE_S, max_windows=3))
        print(json.dumps({"ms": [w.latency_ms for w in rec.stream(inputs[0], window_s=WINDOW_S, stride_s=STRIDE_S)]}))
        return
    for c in inputs:
        rec.predict(c)
    ms, inference = [], []
    for c in inputs:
        start = time.perf_counter()
        pred = rec.predict(c)
        ms.append((time.perf_counter() - start) * 1000)
        inference.append(pred.timings_ms["inference"])
    print(json.dumps({"ms": ms, "inference_ms": inference}))


def measure_arm(task: str, runtime: str, model: Path | None, loaded: bool, args: argparse.Namespace, env: dict,
                video: Path, clips: list[str]) -> dict:
    before = loadavg()
    competitor = start_competitor(args.load, clips, args.competitor_session == "own") if loaded else None
    try:
        out = run_worker(task, runtime, model, [str(video)] if task == "watch" else clips, env)
    finally:
        if competitor is not None:
            competitor.terminate()
            competitor.wait()
    return {**out, "loadavg": [before, loadavg()]}


# --- the run -------------------------------------------------------------------------
def summarise(values: list[float]) -> dict:
    return {"median": statistics.median(values), "p90": float(np.percentile(values, 90)), "n": len(values)}


def git_state() -> dict:
    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True).stdout

    changed = [line[3:] for line in git("status", "--porcelain", "--", "runtimes", "sdk").splitlines()]
    return {"commit": git("rev-parse", "--short", "HEAD").strip(), "uncommitted": changed}


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    """'NAME:VAR=VALUE,VAR=VALUE' -> (NAME, {VAR: VALUE})."""
    name, _, assignments = text.partition(":")
    env = dict(kv.split("=", 1) for kv in assignments.split(",") if kv)
    return name, env


def run(args: argparse.Namespace) -> dict:
    args.work.mkdir(parents=True, exist_ok=True)
    video, clips = watch_video(args.data, args.work), predict_clips(args.data, args.clips)
    models = {r: (ensure_bundle(args.work, RUNTIMES[r]) if RUNTIMES[r] else None) for r in args.runtimes}
    variants = dict(([("sdk", {})] if args.sdk_variant else []) + [parse_variant(v) for v in args.variant])
    samples: dict[tuple, dict[str, list[float]]] = {}
    loads: list[float] = []
    start = time.perf_counter()
    for i in range(args.rounds):
        for runtime in args.runtimes:
            for task in ("watch", "predict"):
                for variant, env in variants.items():
                    for loaded in ((False, True) if i % 2 == 0 else (True, False)):
                        arm = measure_arm(task, runtime, models[runtime], loaded, args, env, video, clips)
                        got = samples.setdefault((runtime, task, variant, loaded), {})
                        for k in ("ms", "inference_ms"):
                            got.setdefault(k, []).extend(arm.get(k, []))
                        got.setdefault("rounds", []).append(statistics.median(arm["ms"]))
                        loads += arm["loadavg"]
                        print(f"round {i + 1}/{args.rounds} {runtime:11s} {task:7s} {variant:12s} "
                              f"{'loaded' if loaded else 'quiet ':6s} median {statistics.median(arm['ms']):7.1f} ms"
                              f"  p90 {np.percentile(arm['ms'], 90):7.1f}  loadavg {arm['loadavg'][0]:.2f} -> "
                              f"{arm['loadavg'][1]:.2f}", flush=True)
    rows = []
    for runtime in args.runtimes:
        for task in ("watch", "predict"):
            for variant, env in variants.items():
                quiet, loaded = samples[(runtime, task, variant, False)], samples[(runtime, task, variant, True)]
                row = {"runtime": runtime, "task": task, "variant": variant, "env": env,
                       "quiet": summarise(quiet["ms"]), "loaded": summarise(loaded["ms"]),
                       "quiet_rounds": quiet["rounds"], "loaded_rounds": loaded["rounds"]}
                if quiet["inference_ms"]:
                    row["quiet_inference"] = statistics.median(quiet["inference_ms"])
                    row["loaded_inference"] = statistics.median(loaded["inference_ms"])
                row["ratio"] = row["loaded"]["median"] / row["quiet"]["median"]
                row["met"] = row["ratio"] <= TARGET_RATIO
                rows.append(row)
    return {"date": today(), "machine": describe_machine(), **git_state(), "load": args.load,
            "competitor_session": args.competitor_session,
            "rounds": args.rounds, "clips": len(clips), "video": video.name,
            "loadavg": {"min": min(loads), "max": max(loads), "median": statistics.median(loads)},
            "minutes": (time.perf_counter() - start) / 60, "rows": rows, "note": args.note}


def table(label: str, r: dict) -> list[str]:
    dirty = f" + uncommitted edits to {len(r['uncommitted'])} files of runtimes/ and sdk/" if r["uncommitted"] else ""
    variants = {row["variant"]: row["env"] for row in r["rows"]}
    described = "; ".join(f"{v}: " + (", ".join(f"`{k}={x}`" for k, x in env.items()) or "the SDK as it is")
                          for v, env in variants.items())
    lines = [f"## {label}", "",
             f"{r['date']}, {r['machine']}; code at commit {r['commit']}{dirty}. Competitor: {r['load']}, "
             f"in {'a session of its own' if r.get('competitor_session') == 'own' else 'the same session'}; "
             f"variants (environment of the measured processes) {described}; {r['rounds']} rounds "
             f"({r['minutes']:.1f} min); load average 1 min over the run {r['loadavg']['min']:.2f}-"
             f"{r['loadavg']['max']:.2f} (median {r['loadavg']['median']:.2f}, competitor included when it ran)."
             + (f" {r['note']}" if r.get("note") else ""), "",
             "| runtime | task | variant | quiet ms median | quiet p90 | loaded ms median | loaded p90 "
             f"| loaded / quiet | within {TARGET_RATIO}x | predict inference ms quiet / loaded "
             "| quiet per round | loaded per round |",
             "|---|---|---|---:|---:|---:|---:|---:|---|---:|---|---|"]
    for row in r["rows"]:
        q, ld = row["quiet"], row["loaded"]
        inference = f"{row['quiet_inference']:.1f} / {row['loaded_inference']:.1f}" if "quiet_inference" in row \
            else "-"
        lines.append(f"| {row['runtime']} | {row['task']} | {row['variant']} | {q['median']:.1f} | {q['p90']:.1f} "
                     f"| {ld['median']:.1f} | {ld['p90']:.1f} | {row['ratio']:.2f}x "
                     f"| {'yes' if row['met'] else '**no**'} | {inference} "
                     f"| {' / '.join(f'{v:.0f}' for v in row['quiet_rounds'])} "
                     f"| {' / '.join(f'{v:.0f}' for v in row['loaded_rounds'])} |")
    return lines + [""]


def write(results: dict, out: Path) -> str:
    """contention.md (every stored run's table) and contention.json (the runs themselves)."""
    lines = ["# Latency on a shared CPU: quiet vs beside a competing multithreaded process", "",
             "`python -m benchmarks.contention` (see its docstring). watch: `Recognizer.stream` (what `sfc-sdk "
             "watch` runs) on actor lena's 10 Weizmann clips back to back (4 s windows, 1 s stride), compute "
             "latency per window after a warm-up stream; predict: `Recognizer.predict` wall time per video over "
             f"{CLIPS} Weizmann "
             "clips (actors daria and lena, every class), after a warm-up pass. Each arm a fresh process; quiet "
             "and loaded alternate, order swapped every round; all rounds pooled. Competitors: numpy = a "
             "512x512 matrix multiply loop on numpy's OpenBLAS, one thread per core; torch = the same on torch "
             "(its OpenMP, one thread per core); predict = a second `predict` loop of this SDK (torch runtime). "
             f"Target: loaded median within {TARGET_RATIO}x of quiet. This is a 2-core VM that other jobs "
             "share: the load average is given with each table.", "",
             "Where the competitor runs matters: Linux shares the CPU fairly between sessions (autogroups) "
             "first, then between the threads inside one. Beside a competitor in the same session (a second "
             "command from the same shell), a single-threaded part (decoding, a one-thread network) gets a third "
             "of the session's share beside its two threads, so the more other sessions load the machine, the "
             "nearer 3x it slows, whatever the runtime does; in a session of its own (a separate service), the "
             "competitor takes its own session's share.", ""]
    for label, r in results.items():
        lines += table(label, r)
    return write_results(out, lines, data=results, echo=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runtimes", type=lambda s: s.split(","), default=list(RUNTIMES))
    ap.add_argument("--load", choices=sorted(COMPETITORS), default="numpy")
    ap.add_argument("--competitor-session", choices=("same", "own"), default="same",
                    help="Run the competitor in this session (a second command from the same shell) or in its "
                         "own (a separate service).")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME:VAR=VALUE,...",
                    help="Also run every arm with this environment (not the competitor's): a candidate setting.")
    ap.add_argument("--no-sdk-variant", dest="sdk_variant", action="store_false",
                    help="Leave out the SDK as it is (only the --variant settings).")
    ap.add_argument("--label", default="after", help="Table name in the results; a new run replaces its own.")
    ap.add_argument("--note", default="", help="A sentence printed under the table.")
    ap.add_argument("--clips", type=int, default=CLIPS)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "contention")
    ap.add_argument("--out", type=Path, default=RESULTS / "contention.md")
    ap.add_argument("--worker", choices=("watch", "predict"), help=argparse.SUPPRESS)
    ap.add_argument("--runtime", help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--inputs", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker, args.runtime, args.model, json.loads(args.inputs), args.threads)
    if not args.data.is_dir():
        sys.exit(f"error: Weizmann data not found at {args.data}")
    unknown = set(args.runtimes) - set(RUNTIMES)
    if unknown:
        sys.exit(f"error: unknown runtimes {sorted(unknown)} (choose from {', '.join(RUNTIMES)})")
    result = run(args)
    store = args.out.with_suffix(".json")
    results = json.loads(store.read_text()) if store.is_file() else {}
    results[args.label] = result
    print(write(results, args.out))


if __name__ == "__main__":
    main()
