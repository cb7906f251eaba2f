"""The docs site (mkdocs.yml, docs/): it builds under --strict, its generated tables are the
CLI's, and every page is in the nav. Needs the `docs` extra (part of `dev`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="the docs site needs the `docs` extra: pip install -e '.[docs]'")
pytest.importorskip("mkdocstrings")
yaml = pytest.importorskip("yaml")  # mkdocs' own dependency

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
                          cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site")
    out = mkdocs_build(REPO / "mkdocs.yml", site)
    assert out.returncode == 0, f"mkdocs build --strict failed:\n{out.stdout}\n{out.stderr}"
    return site


class Tables(HTMLParser):
    """The text of every table cell, per row, per table."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data) -> None:
        if self.cell is not None:
            self.cell.append(data)


def html_tables(page: Path) -> list[list[list[str]]]:
    parser = Tables()
    parser.feed(page.read_text())
    return parser.tables


def markdown_tables(text: str) -> list[list[list[str]]]:
    """The cells of markdown tables as they render: code spans lose their backticks."""
    tables: list[list[list[str]]] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        rows = [line.strip().strip("|") for line in block.splitlines()]
        cells = [[" ".join(c.replace("\\|", "|").replace("`", "").split()) for c in re.split(r"(?<!\\)\|", row)]
                 for i, row in enumerate(rows) if i != 1]  # row 1: the |---| line
        tables.append(cells)
    return tables


def cli(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "sfc_sdk.cli", *args], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_site_builds_strict_with_the_formats_table_the_cli_prints(site):
    tables = html_tables(site / "deploy" / "index.html")
    expected = markdown_tables(cli("formats", "--markdown"))
    assert len(expected) == 3
    assert all(t in tables for t in expected), "the built deploy page does not show `sfc-sdk formats --markdown`"
    assert "<!-- generated:" not in (site / "deploy" / "index.html").read_text()


def test_the_device_backbone_catalogue_and_environment_tables_are_the_cli_s(site):
    from sfc_sdk.defaults import environment_markdown

    for page, args in (("devices", ("devices", "--markdown")), ("checkpoints", ("backbones", "--markdown")),
                       ("checkpoints", ("models", "--markdown"))):
        expected = markdown_tables(cli(*args))
        assert expected[0] in html_tables(site / page / "index.html"), f"the {page} page lacks `sfc-sdk {args[0]}`"
    assert markdown_tables(environment_markdown())[0] in html_tables(site / "index.html")


def test_the_api_reference_renders_every_public_name(site):
    import sfc_sdk

    page = (site / "api" / "index.html").read_text()
    missing = [n for n in sfc_sdk.__all__ if n != "__version__" and f'id="sfc_sdk.{n}"' not in page]
    assert not missing, f"docs/api.md lacks {missing}"


def test_every_docs_page_is_in_the_nav():
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())

    def pages(nav) -> list[str]:
        if isinstance(nav, str):
            return [nav]
        if isinstance(nav, dict):
            return [p for v in nav.values() for p in pages(v)]
        return [p for item in nav for p in pages(item)]

    in_nav = pages(config["nav"])
    on_disk = sorted(str(p.relative_to(REPO / "docs")) for p in (REPO / "docs").rglob("*.md"))
    assert sorted(in_nav) == on_disk
    assert config["strict"] is True and config["docs_dir"] == "docs"


def test_a_broken_link_or_anchor_fails_the_build(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\n[a page that is not there](nowhere.md)\n")
    (docs / "other.md").write_text("# Other\n\n[an anchor that is not there](index.md#nowhere)\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text(f"INHERIT: {REPO / 'mkdocs.yml'}\ndocs_dir: {docs}\nhooks: [{REPO / 'docs' / 'hooks.py'}]\n"
                      "nav: [index.md, other.md]\n")
    out = mkdocs_build(config, tmp_path / "site")
    assert out.returncode != 0
    assert "nowhere.md" in out.stderr and "#nowhere" in out.stderr
