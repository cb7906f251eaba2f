"""One name per idea: the CLI offers exactly the values the API accepts (its choices are
the API's own tuples), `watch --reuse` and the API's `reuse` both speak auto/on/off,
and every pip extra a message names is one the package defines (pyproject.toml)."""

from __future__ import annotations

import json
from importlib.metadata import metadata
from pathlib import Path

import click
import pytest

from sfc_sdk.cli.main import main
from sfc_sdk.cli.predict import ENGINES
from sfc_sdk.cli.train import TEACHERS
from sfc_sdk.config import DECODE_MODES, DISTILL_MODES, MODES, REUSE_MODES, SFC_GATES, SFC_SELECTORS, SHORT_VIDEO
from sfc_sdk.defaults import SAMPLE_CLIP
from sfc_sdk.formats import FORMATS, PLOT_EXTRA, RAY_EXTRA, RUNTIMES, TORCH_EXTRA, export_formats


def _vocabularies() -> dict[tuple[str, str], tuple]:
    """(command, option) -> the tuple that defines what it takes."""
    return {
        ("predict", "mode"): MODES, ("predict", "short"): SHORT_VIDEO, ("predict", "decode"): DECODE_MODES,
        ("predict", "engine"): ENGINES,
        ("convert", "precision"): tuple(sorted({p for f in export_formats() for p in f.precisions})),
        ("profile", "runtime"): ("torch",),
        ("train sfc", "teacher"): TEACHERS, ("train sfc", "distill"): DISTILL_MODES,
        ("train sfc", "gate"): SFC_GATES, ("train sfc", "selector"): SFC_SELECTORS,
        ("train sfc", "short"): SHORT_VIDEO,
        ("watch", "reuse"): REUSE_MODES,
    }


def _choice_options(group: click.Group, prefix: str = "") -> dict[tuple[str, str], tuple]:
    found = {}
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found.update(_choice_options(command, path + " "))
        for param in command.params:
            if isinstance(param.type, click.Choice):
                found[(path, param.name)] = tuple(param.type.choices)
    return found


def test_every_cli_choice_is_the_tuple_that_defines_it():
    """A Choice added or changed in the CLI fails here until it is built from (and listed
    with) the API's tuple; a value added to the API's tuple reaches the CLI unchanged."""
    assert _choice_options(main) == _vocabularies()


def test_the_real_cli_offers_and_checks_the_apis_values(cli):
    """Shown in the help, enforced when parsing."""
    out = cli("predict", "--help")
    assert out.returncode == 0
    for values in (MODES, SHORT_VIDEO, DECODE_MODES):
        assert f"[{'|'.join(values)}]" in out.stdout
    out = cli("predict", SAMPLE_CLIP, "--mode", "fastest")
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "'fastest' is not one of " + ", ".join(map(repr, MODES)) in out.stderr


def _windows(cli, model: Path, reuse: str) -> list[dict]:
    out = cli("watch", SAMPLE_CLIP, "-m", model, "--window-s", "2", "--stride-s", "0.5", "--max-windows", "3",
              "--json", "--reuse", reuse)
    assert out.returncode == 0, out.stderr[-2000:]
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_watch_reuse_is_auto_on_or_off(cli, tiny_model_dir):
    """--reuse on / off / auto, as the API's reuse: on reuses the head
    features of every window after the first, off none, auto times both; the answers agree."""
    on, off, auto = (_windows(cli, tiny_model_dir, reuse) for reuse in ("on", "off", "auto"))
    assert all(w["reused_steps"] > 0 for w in on[1:]) and len(on) == 3
    assert all(w["reused_steps"] == 0 for w in off)
    reused = [w["reused_steps"] > 0 for w in auto[1:]]
    assert any(reused) and not all(reused)  # the first windows are timed with and without
    for a, b in zip(on, off, strict=True):
        assert a["label"] == b["label"] and a["score"] == pytest.approx(b["score"], abs=1e-4)
    out = cli("watch", SAMPLE_CLIP, "--reuse", "true")
    assert out.returncode == 2 and "'true' is not one of 'auto', 'on', 'off'" in out.stderr, out.stderr


def test_every_extra_named_in_the_code_is_one_the_package_defines():
    extras = metadata("sfc-sdk").get_all("Provides-Extra")
    named = {TORCH_EXTRA, PLOT_EXTRA, RAY_EXTRA, *(r.extra for r in RUNTIMES if r.extra), *(f.extra for f in FORMATS)}
    assert named <= set(extras), named - set(extras)
