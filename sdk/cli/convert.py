"""`sfc-sdk convert`: export a model for a target into a checked bundle.

The choices for --target, --format and --precision come from the tables in
`sfc_sdk.formats`, so the CLI, the docs and validation never disagree.
"""

from __future__ import annotations

import click

from ..formats import export_formats, extra_requirement, list_runtimes, targets

PRECISIONS = sorted({p for f in export_formats() for p in f.precisions})


def _target_help() -> str:
    return ("A format (" + ", ".join(f"{t.name} ({'/'.join(t.aliases)})" if t.aliases else t.name
                                     for t in targets()) + "), a device (see `sfc-sdk devices`), a device "
            "family (jetson, raspberry-pi, intel, cuda, cpu) or auto (detect this machine).")


@click.command()
@click.argument("model", required=False)
@click.option("--target", "-t", required=True, help=_target_help())
@click.option("--format", "fmt", help="Override the target's format: "
              + ", ".join(f"{f.name} ({'/'.join(f.aliases)})" if f.aliases else f.name for f in export_formats()) + ".")
@click.option("--precision", "-p", type=click.Choice(PRECISIONS), help="Override the target's precision.")
@click.option("--ratio", type=int, help="Compression ratio baked into the export (default: the model's).")
@click.option("--frames", type=int, help="Input frames baked into the export (default: the model's).")
@click.option("--calib", type=click.Path(path_type=str),
              help="Folder of your videos for INT8 calibration and parity, added to the bundled sample clip "
                   "(without it, INT8 calibrates on that one clip).")
@click.option("--output", "-o", required=True, type=click.Path(path_type=str),
              help="Bundle directory, or an archive ending in .tar.gz.")
@click.option("--latency-ms", type=float,
              help="Device targets: latency budget per video (default: the device profile's).")
@click.option("--profiles", "profiles", multiple=True, type=click.Path(path_type=str),
              help="Folder of extra device profiles (JSON); repeatable.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output.")
def convert(model, target, fmt, precision, ratio, frames, calib, output, latency_ms, profiles, overwrite) -> None:
    """Export MODEL (a model directory; default: the bundled model) for a target.

    For a device target the compression ratio is chosen to meet the latency budget,
    from `sfc-sdk profile` measurements of that device when stored, else from the
    cost model (GMACs / the device's throughput)."""
    from ..devices.convert import convert as convert_for_target

    report = convert_for_target(model, target, output, fmt=fmt, precision=precision, ratio=ratio, frames=frames,
                                calib=calib, overwrite=overwrite, latency_ms=latency_ms, profiles=profiles,
                                log=lambda line: click.echo(line, err=True))
    m, p = report.manifest, report.manifest.parity
    click.echo(f"bundle     {report.path}")
    click.echo(f"digest     {m.digest}")
    click.echo(f"model      {m.model.name or m.model.backbone}: {m.frames} frames, ratio {m.ratio}, "
               f"{m.format} {m.precision}, runtime {p.get('runtime', m.runtime)}")
    for name, size in report.sizes.items():
        click.echo(f"file       {name:<20} {size / 1e6:8.2f} MB")
    click.echo(f"parity     top-1 agreement {p['top1_agreement']:.0%}, kept moments identical "
               f"{p['kept_agreement']:.0%}, centred-logit cosine min {p['cosine_min']:.5f} "
               f"({p['inputs']} real clip inputs vs PyTorch FP32)")
    click.echo(f"latency    {report.latency_ms:.1f} ms per video on this machine "
               f"(model only, median of {report.latency_runs})")
    if m.selection:
        click.echo(f"device     {m.selection['device']}: {m.selection['reason']}")
    for note in m.notes:
        click.echo(f"note       {note}")
    click.echo(f"took       {report.seconds:.0f} s")


@click.command()
@click.option("--markdown", is_flag=True, help="As the markdown tables in docs/deploy.md.")
def formats(markdown: bool) -> None:
    """Export targets, formats and runtimes (the tables `convert` and bundles are driven by)."""
    installed = {r.name for r in list_runtimes() if r.installed()}
    if markdown:
        click.echo("| --target | format | precision | for |\n|---|---|---|---|")
        for t in targets():
            click.echo(f"| `{t.name}` | {t.format} | {t.precision} | {t.note} |")
        click.echo("\n| format | precisions | runtimes (fallback order) | pip extra to export | notes |\n"
                   "|---|---|---|---|---|")
        for f in export_formats():
            click.echo(f"| `{f.name}` | {', '.join(f.precisions)} | {', '.join(f.runtimes)} | `{f.extra}` "
                       f"| {f.note} |")
        click.echo("\n| runtime | to install it | what it runs |\n|---|---|---|")
        for r in list_runtimes():
            how = f"`{extra_requirement(r.extra)}`" if r.extra else r.install
            click.echo(f"| `{r.name}` | {how} | {r.description} |")
        return
    click.echo(f"{'target':<14} {'format':<10} {'precision':<10} for")
    for t in targets():
        click.echo(f"{t.name:<14} {t.format:<10} {t.precision:<10} {t.note}")
    click.echo(f"\n{'format':<10} {'precisions':<22} runtimes (fallback order, * = installed here)")
    for f in export_formats():
        runtimes = ", ".join(f"{r}{'*' if r in installed else ''}" for r in f.runtimes)
        click.echo(f"{f.name:<10} {', '.join(f.precisions):<22} {runtimes}")
    click.echo(f"\n{'runtime':<12} {'installed':<10} to install")
    for r in list_runtimes():
        click.echo(f"{r.name:<12} {'yes' if r.name in installed else 'no':<10} {r.install_hint}")
