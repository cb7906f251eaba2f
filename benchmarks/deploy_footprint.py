"""What a deploy-only install weighs and what a bundle-only process holds, next to PyTorch.

    python -m benchmarks.deploy_footprint [--work /tmp/sfc-deploy] [--runs 20]

Each arm is a fresh virtual environment with only what `pip install` pulls for it:

    openvino   pip install "sfc-sdk[openvino]"   an x86 box that runs OpenVINO bundles
    tflite     pip install "sfc-sdk[tflite]"     a Raspberry Pi that runs LiteRT bundles
    onnx       pip install "sfc-sdk[onnx]"       ONNX Runtime bundles
    core       pip install sfc-sdk               what every arm shares (size only)
    torch      pip install torch==2.13.0 "sfc-sdk[torch]"   model directories on PyTorch

Size: the venv's site-packages, minus an empty venv's. Memory: the peak resident set
(VmHWM) of a fresh process that loads the bundled model (as a bundle in its format, or
the model directory on PyTorch) and predicts the bundled sample clip `--runs` times; the
same bundles also run in the development venv (torch installed, never imported).
Bundles are converted once, in the development venv. Writes
benchmarks/results/deploy_footprint.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.harness import REPO, RESULTS, command, describe_machine, median, today, write_results

ARMS = {  # venv -> pip arguments (after the empty venv)
    "core": ['{repo}'],  # no runtime: reads bundles and video, runs nothing
    "openvino": ['{repo}[openvino]'],
    "tflite": ['{repo}[tflite]'],
    "onnx": ['{repo}[onnx]'],
    "torch": ["torch==2.13.0", '{repo}[torch]'],
}
RUNS = [  # (arm, what it loads, bundle format or None for the model directory)
    ("openvino", "openvino bundle", "openvino"), ("tflite", "tflite bundle", "tflite"), ("onnx", "onnx bundle", "onnx"),
    ("torch", "model directory (PyTorch)", None),
    ("dev", "openvino bundle", "openvino"), ("dev", "model directory (PyTorch)", None),
]

MEASURE = """
import json, statistics, sys, time
t0 = time.perf_counter()
from sfc_sdk import Recognizer
from sfc_sdk.defaults import SAMPLE_CLIP
rec = Recognizer(sys.argv[1] if sys.argv[1] != "-" else None, device="cpu")
loaded = time.perf_counter() - t0
times = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    pred = rec.predict(SAMPLE_CLIP)
    times.append((time.perf_counter() - start) * 1000)
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
print(json.dumps({"peak_mb": int(status["VmHWM"].split()[0]) / 1024, "load_s": loaded,
                  "predict_ms": statistics.median(times), "label": pred.label, "runtime": pred.runtime,
                  "torch_imported": "torch" in sys.modules}))
"""


def site_packages_mb(venv: Path) -> float:
    site = next((venv / "lib").glob("python3*/site-packages"))
    total = sum(f.stat().st_size for f in site.rglob("*") if f.is_file() and not f.is_symlink())
    return total / 1e6


def make_venv(path: Path, pip_args: list[str]) -> None:
    if (path / "done").exists():
        return
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(path)], check=True)
    if pip_args:
        args = [a.format(repo=REPO) for a in pip_args]
        subprocess.run([str(path / "bin" / "pip"), "install", "-q", *args], check=True)
    (path / "done").write_text("")


def convert_bundles(work: Path) -> dict[str, Path]:
    from sfc_sdk import convert

    out = {}
    for fmt in ("openvino", "tflite", "onnx"):
        path = work / "bundles" / fmt
        if not (path / "manifest.json").exists():
            print(f"converting {fmt} ...", flush=True)
            convert(None, fmt, path, overwrite=True, log=lambda _: None)
        out[fmt] = path
    return out


def measure(python: Path, model: str, runs: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    done = subprocess.run([str(python), "-c", MEASURE, model, str(runs)], capture_output=True, text=True, env=env,
                          cwd="/")  # not the repo: the venv's own install must be what runs
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def cli_start_ms(venv: Path, runs: int = 7) -> float:
    """Median wall time of `sfc-sdk --help` (interpreter start included)."""
    exe = venv / "bin" / "sfc-sdk"
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([str(exe), "--help"], capture_output=True, check=True, cwd="/")
        times.append((time.perf_counter() - start) * 1000)
    return median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/sfc-deploy-footprint"))
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    make_venv(args.work / "venv-empty", [])
    empty = site_packages_mb(args.work / "venv-empty")
    sizes = {}
    for arm, pip_args in ARMS.items():
        print(f"venv {arm}: pip install {' '.join(pip_args)}", flush=True)
        make_venv(args.work / f"venv-{arm}", pip_args)
        sizes[arm] = site_packages_mb(args.work / f"venv-{arm}") - empty
    bundles = convert_bundles(args.work)

    rows = []
    for arm, what, fmt in RUNS:
        python = Path(sys.executable) if arm == "dev" else args.work / f"venv-{arm}" / "bin" / "python"
        result = measure(python, str(bundles[fmt]) if fmt else "-", args.runs)
        result["help_ms"] = cli_start_ms(python.parent.parent)
        print(arm, what, result, flush=True)
        rows.append({"venv": arm, "loads": what, "install_mb": sizes.get(arm), **result})

    meta = {"date": today(), "machine": describe_machine(), "runs": args.runs}
    lines = [
        "# Deploy-only install and a bundle-only process, next to PyTorch",
        "",
        f"`{command('deploy_footprint', '')}` on {meta['date']}, {meta['machine']}. Install: the fresh "
        "venv's site-packages minus an empty venv's. Peak: VmHWM of a fresh process that loads the bundled model "
        f"and predicts the bundled sample clip {args.runs} times (median ms per video, decoding included). "
        "`dev` is the development venv (`pip install -e .[dev]`: torch and every runtime installed). "
        "`--help ms`: median wall time of `sfc-sdk --help` in that venv, interpreter start included.",
        "",
        "| venv | install MB | loads | runtime | torch imported | load s | predict ms | peak MB | --help ms |",
        "|---|---:|---|---|---|---:|---:|---:|---:|",
    ]
    lines.append(f"| core | {sizes['core']:.0f} | (nothing: no runtime) | | | | | | |")
    for r in rows:
        size = f"{r['install_mb']:.0f}" if r["install_mb"] is not None else "-"
        if "error" in r:
            lines.append(f"| {r['venv']} | {size} | {r['loads']} | error: {r['error']} |||||")
            continue
        torch_imported = "yes" if r["torch_imported"] else "no"
        lines.append(f"| {r['venv']} | {size} | {r['loads']} | {r['runtime']} | {torch_imported} "
                     f"| {r['load_s']:.1f} | {r['predict_ms']:.0f} | {r['peak_mb']:.0f} | {r['help_ms']:.0f} |")
    write_results(RESULTS / "deploy_footprint.md", lines, data={"meta": meta, "rows": rows})


if __name__ == "__main__":
    main()
