"""MkDocs hooks for the docs site (registered in mkdocs.yml).

- A page line `<!-- generated: NAME -->` becomes the table the SDK's code prints, so the
  site cannot drift from the CLI: `formats` and `devices` are `sfc-sdk formats --markdown`
  and `sfc-sdk devices --markdown` (the commands themselves, run in process); `backbones`
  and `models` are `sfc-sdk backbones --markdown` and `sfc-sdk models --markdown`;
  `environment` is the table of `SFC_SDK_*` variables (sfc_sdk.defaults). An unknown NAME
  fails the build.
- Pages link to measured results as `../benchmarks/results/FILE` (`../../` from a page under
  docs/benchmarks/: a path that works on a repository host); the site serves that folder
  at `benchmarks/results/`, and the links are rewritten to it, so strict mode still fails
  on a link to a file that is not there.
- A page line `<!-- results: NAME -->` becomes benchmarks/results/NAME.md as measured: its
  machine/date/command line and its tables, its headings moved under the heading the
  marker sits in, then NAME.png as an image when there is one and a link to the file.
  A result kept only as NAME.json (+ .png), such as a device profile, shows its image and
  the json's own `date` and `how`. A NAME with neither .md nor .json fails the build.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files, InclusionLevel

REPO = Path(__file__).resolve().parents[1]
RESULTS = "benchmarks/results"
MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.MULTILINE)
RESULTS_LINK = re.compile(r"\]\((?:\.\./)+" + re.escape(RESULTS) + "/")
INCLUDE = re.compile(r"^<!-- results: ([\w-]+) -->$", re.MULTILINE)
HEADING = re.compile(r"^(#{1,6}) ", re.MULTILINE)


def _cli(command: Callable, *args: str) -> str:
    """What a click command of the SDK prints, run in this process."""
    from click.testing import CliRunner

    result = CliRunner().invoke(command, list(args), catch_exceptions=False)
    if result.exit_code != 0:
        raise PluginError(f"{command.name} {' '.join(args)} exited {result.exit_code}: {result.output}")
    return result.stdout.strip()


def formats_table() -> str:
    from sfc_sdk.cli.convert import formats

    return _cli(formats, "--markdown")


def devices_table() -> str:
    from sfc_sdk.cli.devices import devices

    return _cli(devices, "--markdown")


def backbones_table() -> str:
    from sfc_sdk.cli.info import backbones

    return _cli(backbones, "--markdown")


def models_table() -> str:
    from sfc_sdk.cli.models import models

    return _cli(models, "--markdown")


def environment_table() -> str:
    from sfc_sdk.defaults import environment_markdown

    return environment_markdown()


GENERATORS: dict[str, Callable[[], str]] = {
    "formats": formats_table,
    "devices": devices_table,
    "backbones": backbones_table,
    "models": models_table,
    "environment": environment_table,
}
_cache: dict[str, str] = {}


def generated(name: str) -> str:
    """The markdown a `<!-- generated: NAME -->` marker becomes."""
    if name not in GENERATORS:
        raise PluginError(f"unknown generated table {name!r}; known: {', '.join(GENERATORS)}")
    if name not in _cache:
        _cache[name] = GENERATORS[name]()
    return _cache[name]


def results(name: str, level: int) -> str:
    """The markdown a `<!-- results: NAME -->` marker becomes, under a heading of `level`."""
    base = REPO / RESULTS / name
    link = f"../{RESULTS}/{name}"  # rewritten to the page's depth with the other links
    if base.with_suffix(".md").is_file():
        text = base.with_suffix(".md").read_text().strip()
        top = min((len(m.group(1)) for m in HEADING.finditer(text)), default=level + 1)
        shift = level + 1 - top  # the file's top heading goes one below the marker's
        text = HEADING.sub(lambda m: "#" * min(6, len(m.group(1)) + shift) + " ", text)
        source = f"{name}.md"
    elif base.with_suffix(".json").is_file():
        meta = json.loads(base.with_suffix(".json").read_text())
        said = ", ".join(f"{key} {meta[key]}" for key in ("how", "model") if key in meta)
        text = f"Measured {meta.get('date', '(no date in the file)')}" + (f" ({said})." if said else ".")
        source = f"{name}.json"
    else:
        raise PluginError(f"<!-- results: {name} -->: no {RESULTS}/{name}.md nor .json")
    if base.with_suffix(".png").is_file():
        text += f"\n\n![{name}]({link}.png)"
    return f"{text}\n\nResult file: [{RESULTS}/{source}](../{RESULTS}/{source})\n"


def include_results(markdown: str) -> str:
    """Replace each results marker, knowing the level of the last heading above it."""
    out, level, fence = [], 1, False
    for line in markdown.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        heading = None if fence else HEADING.match(line)
        if heading:
            level = len(heading.group(1))
        marker = None if fence else INCLUDE.match(line)
        out.append(results(marker.group(1), level) if marker else line)
    return "\n".join(out)


def on_pre_build(config, **kwargs) -> None:
    _cache.clear()  # `mkdocs serve` rebuilds: print the tables afresh


def on_files(files: Files, config, **kwargs) -> Files:
    results = REPO / RESULTS
    for path in sorted(results.iterdir()) if results.is_dir() else []:
        if path.is_file():
            file = File(f"{RESULTS}/{path.name}", str(REPO), config["site_dir"], config["use_directory_urls"])
            file.inclusion = InclusionLevel.NOT_IN_NAV  # linked from the pages, not listed in the nav
            files.append(file)
    return files


def on_page_markdown(markdown: str, page, config, files, **kwargs) -> str:
    depth = page.file.src_uri.count("/")
    markdown = include_results(markdown)
    markdown = RESULTS_LINK.sub("](" + "../" * depth + RESULTS + "/", markdown)
    return MARKER.sub(lambda m: generated(m.group(1)), markdown)
