"""On-device measurement (`sfc-sdk profile`): latency, memory, throughput (and top-1) per
ratio and precision of a model on this machine.

Not to be confused with a device profile (`device_profile.py`: the JSON description of a
device): a measurement is made *as* a device profile runs the model. Each configuration is
exported (as `sfc-sdk convert` would), then measured in a fresh interpreter of its own
(`measure_worker.py`) so its peak memory is its own. Results are written as JSON + PNG and
stored in the measurement cache, where `convert` finds them for this device and model and
prefers them over the cost model.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..bundle import Bundle, is_bundle
from ..defaults import cache_dir, default_model_dir
from ..errors import ConfigError
from ..formats import get_format
from ..video.files import scan_folder
from .detect import read_host
from .device_profile import DeviceProfile
from .measure_worker import measure_in_fresh_process
from .planner import RatioOption, refused_ratios

# The `schema` value of a measurement file: kept as first written, so earlier files and the
# tools that read them stay valid.
MEASUREMENT_SCHEMA = "sfc-sdk-profile"


def measurement_cache() -> Path:
    """Where measurements are stored for `convert`: one folder per device, one file per weights."""
    return cache_dir() / "measurements"


def _legacy_measurement_cache() -> Path:
    """Where releases before the rename stored them; still read, never written."""
    return cache_dir() / "profiles"


def weights_id(model_dir: Path) -> str:
    """The first 16 hex digits of the sha256 of a model directory's weights file: measured
    figures are only reused for the same weights. (Not the converters' `model_dir_sha256`,
    which hashes every file of the directory to reuse exports.)"""
    digest = hashlib.sha256((Path(model_dir) / "model.safetensors").read_bytes()).hexdigest()
    return digest[:16]


def measurement_cache_path(device: str, wid: str) -> Path:
    """Where the measurement of weights `wid` as `device` is written."""
    return measurement_cache() / device / f"{wid}.json"


def _stored_measurement(device: str, wid: str) -> Path | None:
    """The stored measurement of weights `wid` as `device`: the cache's, else the legacy cache's."""
    for root in (measurement_cache(), _legacy_measurement_cache()):
        if (root / device / f"{wid}.json").is_file():
            return root / device / f"{wid}.json"
    return None


def measured_options(device: str, wid: str, fmt: str, precision: str) -> list[RatioOption] | None:
    """Options from a stored measurement of this device and weights, if any."""
    path = _stored_measurement(device, wid)
    if path is None:
        return None
    try:
        rows = json.loads(path.read_text())["rows"]
        return [RatioOption(int(r["ratio"]), float(r["latency_ms"]), "measured", r.get("top1"), r.get("peak_mb"))
                for r in rows if r["format"] == fmt and r["precision"] == precision and "error" not in r] or None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return None  # a damaged cache file is ignored: the cost model still works


def labeled_videos(data: str | Path | None, labels: Sequence[str], limit: int | None) -> list[tuple[str, str]]:
    """(path, class) for a folder-per-class dataset whose classes are the model's labels."""
    if data is None:
        return []
    classes, items = scan_folder(Path(data))
    unknown = sorted(set(classes) - set(labels))
    if unknown:
        raise ConfigError(f"--data classes the model does not know: {unknown[:5]}")
    step = max(1, len(items) // limit) if limit else 1
    return [(str(i.path), classes[i.label]) for i in items[::step]][:limit]


@dataclass(frozen=True)
class Measurement:
    json_path: Path
    png_path: Path | None  # None: matplotlib (the plot extra) is not installed
    stored: Path | None  # where convert finds it (None: a bundle's measurement is not reused)
    data: dict


def measure_model(model_dir: str | Path | None, device: DeviceProfile, how: str, ratios: Sequence[int],
                  precisions: Sequence[str], data: str | Path | None = None, limit: int | None = None,
                  runs: int = 20, out: str | Path | None = None, runtime: str | None = None,
                  progress: bool = True, calib: str | Path | None = None) -> Measurement:
    """Measure `model_dir` (None: the bundled model) on this machine, as `device` runs it.
    A bundle is measured as it is (its one ratio and precision) and not stored for
    `convert`, which keys measurements by the model's weights. `calib`: videos INT8
    exports are calibrated on, as `convert --calib` (without it, only the bundled sample
    clip: the bundled model then lost 5.8 points at ratio 4 instead of 1.5)."""
    from tqdm import tqdm

    from ..converters import export_bundle  # torch: only for model directories
    from ..model import load_model

    model_dir = Path(model_dir) if model_dir else default_model_dir()
    if is_bundle(model_dir):
        return _measure_bundle(model_dir, device, how, data, limit, runs, out)
    net, config = load_model(model_dir)
    skipped = refused_ratios(net, config.sfc.frames, ratios)  # said in the result, never dropped silently
    ratios = [r for r in ratios if r not in skipped]
    if not ratios:
        raise ConfigError("none of the ratios runs on this model: " + "; ".join(
            f"ratio {r}: {why}" for r, why in skipped.items()))
    fmt = get_format(device.target)
    for p in precisions:
        if runtime != "torch" and p not in fmt.precisions:
            raise ConfigError(f"{fmt.name} offers {', '.join(fmt.precisions)}, not {p}")
    videos = labeled_videos(data, config.labels, limit)
    threads = device.threads or None
    rows = []
    jobs = [(p, r) for p in precisions for r in ratios]
    with tempfile.TemporaryDirectory() as work:
        for precision, ratio in tqdm(jobs, desc=f"measure {device.name}", unit="config", disable=not progress):
            row = {"ratio": ratio, "precision": precision, "format": "torch" if runtime == "torch" else fmt.name}
            try:
                if runtime == "torch":
                    target = _torch_model_at_ratio(net, config, ratio, Path(work) / f"torch-{ratio}")
                else:
                    target = Path(work) / f"{fmt.name}-{precision}-{ratio}"
                    export_bundle(model_dir, fmt, precision, target, ratio=ratio, calib=calib, log=lambda _: None)
                row.update(measure_in_fresh_process(model=str(target), runtime=runtime, videos=videos, runs=runs,
                                                    threads=threads))
            except Exception as e:  # noqa: BLE001 - one failed configuration must not lose the others
                row["error"] = f"{type(e).__name__}: {e}"
            rows.append(row)
    result = _result(device, how, config, weights_id(model_dir), runs, rows)
    result["skipped"] = [{"ratio": r, "reason": why} for r, why in skipped.items()]
    return _write(result, out, measurement_cache_path(device.name, result["weights_id"]))


def _measure_bundle(bundle_dir: Path, device: DeviceProfile, how: str, data, limit, runs: int, out) -> Measurement:
    m = Bundle.open(bundle_dir).manifest
    videos = labeled_videos(data, m.model.labels, limit)
    row = {"ratio": m.ratio, "precision": m.precision, "format": m.format}
    row.update(measure_in_fresh_process(model=str(bundle_dir), runtime=None, videos=videos, runs=runs,
                                        threads=device.threads or None))
    # A bundle's weights are in its model file: its checksum's first 16 hex digits, as `weights_id`.
    result = _result(device, how, m.model, m.files[m.model_file][:16], runs, [row])
    return _write(result, out, None)


def _result(device: DeviceProfile, how: str, config, wid: str, runs: int, rows: list[dict]) -> dict:
    return {
        "schema": MEASUREMENT_SCHEMA, "schema_version": 1, "device": device.name, "how": how,
        "host": read_host().describe(),  # the machine measured on: `auto` trusts only this machine's figures
        "date": datetime.datetime.now().isoformat(timespec="seconds"), "model": config.name or config.backbone,
        "weights_id": wid, "frames": config.sfc.frames, "runs": runs,
        "budget_ms": device.latency_budget_ms, "memory_budget_mb": device.memory_budget_mb, "rows": rows,
    }


def _write(result: dict, out: str | Path | None, stored: Path | None) -> Measurement:
    json_path = Path(out) if out else Path(f"profile-{result['device']}.json")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=1) + "\n")
    if stored is not None:  # new rows replace the same configurations; other measured ones stay
        # before the first write, the measurement to add to may be in the legacy cache
        earlier = _stored_measurement(result["device"], stored.stem) or stored
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_text(json.dumps(_merged(earlier, result), indent=1) + "\n")
    png: Path | None = json_path.with_suffix(".png")
    try:
        plot_measurement(result, png)
    except ModuleNotFoundError as e:  # the measurements are written: without matplotlib there is no plot
        if (e.name or "").split(".")[0] != "matplotlib":
            raise
        png = None
    return Measurement(json_path, png, stored, result)


def _merged(stored: Path, result: dict) -> dict:
    """`result` with the rows of an earlier measurement of the same device, model and machine
    that it did not measure again (another precision or format), so measurements add up."""
    key = ("format", "precision", "ratio")
    try:
        old = json.loads(stored.read_text())
    except (OSError, json.JSONDecodeError):
        return result
    if not isinstance(old, dict) or old.get("host") != result["host"] or old.get("frames") != result["frames"]:
        return result
    new = {tuple(r.get(k) for k in key) for r in result["rows"]}
    kept = [r for r in old.get("rows", []) if isinstance(r, dict) and tuple(r.get(k) for k in key) not in new]
    return {**result, "rows": kept + result["rows"]}


def measured_here(wid: str) -> list[dict]:
    """Every stored measurement of weights `wid` made on this machine (any device profile it
    was measured as), each row with its measurement's device and date: what `auto` compares."""
    host = read_host().describe()
    rows = []
    paths = sorted(measurement_cache().glob(f"*/{wid}.json"))
    seen = {p.parent.name for p in paths}
    paths += [p for p in sorted(_legacy_measurement_cache().glob(f"*/{wid}.json")) if p.parent.name not in seen]
    for path in paths:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(data, dict) and data.get("host") == host:
            rows += [{**r, "device": data.get("device"), "date": data.get("date")} for r in data.get("rows", [])
                     if isinstance(r, dict) and "error" not in r and "latency_ms" in r]
    return rows


def _torch_model_at_ratio(net, config, ratio: int, out: Path) -> Path:
    """A model directory whose default ratio is `ratio` (the torch runtime takes any ratio)."""
    from ..model import save_model

    return save_model(net, replace(config, sfc=replace(config.sfc, ratio=ratio)), out)


def plot_measurement(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in result["rows"] if "error" not in r]
    with_acc = [r for r in rows if r.get("top1") is not None]
    fig, axes = plt.subplots(1, 2 if with_acc else 1, figsize=(10 if with_acc else 6, 4), squeeze=False)
    ax = axes[0][0]
    for precision in sorted({r["precision"] for r in rows}):
        pts = sorted((r["ratio"], r["latency_ms"]) for r in rows if r["precision"] == precision)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=precision)
    ax.axhline(result["budget_ms"], color="red", linestyle="--", label=f"budget {result['budget_ms']:.0f} ms")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("compression ratio")
    ax.set_ylabel("latency per video, ms (model, median)")
    ax.set_title(f"{result['model']} on {result['device']}")
    ax.legend()
    if with_acc:
        ax = axes[0][1]
        for precision in sorted({r["precision"] for r in with_acc}):
            pts = [r for r in with_acc if r["precision"] == precision]
            ax.scatter([r["latency_ms"] for r in pts], [100 * r["top1"] for r in pts], label=precision)
            for r in pts:
                ax.annotate(f"r{r['ratio']}", (r["latency_ms"], 100 * r["top1"]), fontsize=8,
                            xytext=(3, 3), textcoords="offset points")
        ax.axvline(result["budget_ms"], color="red", linestyle="--", label="budget")
        ax.set_xscale("log")
        ax.set_xlabel("latency per video, ms (log)")
        ax.set_ylabel("top-1 (%)")
        ax.set_title(f"accuracy vs latency ({with_acc[0]['videos']} videos)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
