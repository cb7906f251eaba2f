"""`sfc-sdk devices` and `sfc-sdk profile`: the device profiles, and measuring a model here (a measurement)."""

from __future__ import annotations

import click

from .. import logs
from ..formats import PLOT_EXTRA, extra_hint

log = logs.logger("cli")


@click.command()
@click.option("--profiles", multiple=True, type=click.Path(path_type=str),
              help="Folder of extra device profiles (JSON).")
@click.option("--markdown", is_flag=True, help="As the table in docs/devices.md.")
def devices(profiles, markdown: bool) -> None:
    """Device profiles (shipped and your own), and which one this machine is."""
    from ..devices import detect_device, list_devices, read_host

    found = list_devices(profiles)
    here = detect_device(found, read_host())
    if markdown:
        click.echo("| device | family | target | precision | budget ms | memory MB | planning GMAC/s | "
                   "where the throughput comes from |\n|---|---|---|---|---:|---:|---:|---|")
        for p in found:
            family = f"{p.family} (default)" if p.family_default else p.family
            target = f"{p.target} {p.tensorrt}+" if p.tensorrt else p.target
            click.echo(f"| `{p.name}` | {family} | {target} | {p.precision} | {p.latency_budget_ms:.0f} | "
                       f"{p.memory_budget_mb:.0f} | {p.throughput_gmacs:.0f} | {p.throughput_source} |")
        return
    click.echo(f"  {'device':<18} {'family':<14} {'target':<14} {'prec':<5} {'budget':>8} {'GMAC/s':>7}  description")
    for p in found:
        mark = "*" if here and here.profile.name == p.name else " "
        target = f"{p.target} {p.tensorrt}+" if p.tensorrt else p.target  # the oldest TensorRT it fits
        click.echo(f"{mark} {p.name:<18} {p.family:<14} {target:<14} {p.precision:<5} "
                   f"{p.latency_budget_ms:6.0f}ms {p.throughput_gmacs:7.0f}  {p.description}")
    click.echo(f"\n* this machine: {here.how if here else 'not recognised'}")


def _ints(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}") from None


@click.command()
@click.argument("model", required=False)
@click.option("--device", "device_name", default="auto", show_default=True,
              help="Device profile, family or auto: sets the runtime, precision, threads and budget.")
@click.option("--ratios", default="1,2,4,8", show_default=True,
              help="Compression ratios to measure; those the model cannot run are named and skipped.")
@click.option("--precision", help="Comma-separated precisions (default: the device's).")
@click.option("--runtime", type=click.Choice(["torch"]), help="Measure the PyTorch model instead of exports.")
@click.option("--data", type=click.Path(path_type=str), help="Folder-per-class videos: also measure top-1.")
@click.option("--limit", type=int, help="At most this many --data videos (spread over the classes).")
@click.option("--runs", type=int, default=20, show_default=True, help="Timed calls per configuration.")
@click.option("--calib", type=click.Path(path_type=str),
              help="Videos to calibrate INT8 on, as convert --calib (keep them apart from --data).")
@click.option("--profiles", multiple=True, type=click.Path(path_type=str),
              help="Folder of extra device profiles (JSON).")
@click.option("--output", "-o", type=click.Path(path_type=str), help="JSON path (default profile-DEVICE.json).")
def profile(model, device_name, ratios, precision, runtime, data, limit, runs, calib, profiles, output) -> None:
    """Measure MODEL (a model directory, default the bundled model, or a bundle) on this machine,
    per ratio and precision."""
    from ..devices import resolve_device
    from ..devices.measure import measure_model

    resolved = resolve_device(device_name, profiles)
    dev = resolved.profile
    precisions = precision.split(",") if precision else [dev.precision if runtime != "torch" else "fp32"]
    log.info(f"device: {resolved.how}")
    result = measure_model(model, dev, resolved.how, _ints(ratios), precisions, data=data, limit=limit, runs=runs,
                           out=output, runtime=runtime, calib=calib, progress=logs.show_progress())
    for skipped in result.data.get("skipped", []):  # a ratio asked for (or a default) that cannot run here
        log.warning(f"note: ratio {skipped['ratio']} not measured: {skipped['reason']}")
    click.echo(f"{'ratio':>5} {'format':<9} {'prec':<5} {'median ms':>9} {'p90 ms':>7} {'videos/s':>8} "
               f"{'peak MB':>7} {'top-1':>6}")
    for r in result.data["rows"]:
        if "error" in r:
            click.echo(f"{r['ratio']:>5} {r['format']:<9} {r['precision']:<5} failed: {r['error']}")
            continue
        top1 = f"{r['top1']:.1%}" if r.get("top1") is not None else "-"
        fits = "" if r["latency_ms"] <= dev.latency_budget_ms else "  over budget"
        click.echo(f"{r['ratio']:>5} {r['format']:<9} {r['precision']:<5} {r['latency_ms']:9.1f} {r['p90_ms']:7.1f} "
                   f"{r['throughput_vps']:8.1f} {r['peak_mb']:7.0f} {top1:>6}{fits}")
    stored = f"; stored for convert: {result.stored}" if result.stored else " (a bundle: not stored for convert)"
    if result.png_path is None:
        click.echo(f"written: {result.json_path}{stored}; no plot: it needs matplotlib, "
                   f"{extra_hint(PLOT_EXTRA)}")
    else:
        click.echo(f"written: {result.json_path} and {result.png_path}{stored}")
