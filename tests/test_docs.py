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


RESULTS_MARKER = re.compile(r"^<!-- results: ([\w-]+) -->$", re.MULTILINE)  # as docs/hooks.py reads it
DATE = re.compile(r"20\d\d-\d\d-\d\d")  # a day; a year alone (a paper's, a release's) is fine
COMMIT = re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b")  # a git hash: hex, digits and letters
CODE = re.compile(r"^(```|~~~).*?^\1[^\n]*$|`[^`]*`", re.MULTILINE | re.DOTALL)  # fenced blocks, inline spans


def benchmark_pages() -> list[Path]:
    """The benchmark guide's source pages: docs/benchmarks.md and the pages under docs/benchmarks/."""
    return [REPO / "docs" / "benchmarks.md", *sorted((REPO / "docs" / "benchmarks").glob("*.md"))]


def load_hooks():
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_hooks", REPO / "docs" / "hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    return hooks


def test_every_results_marker_names_a_measured_file():
    results = REPO / "benchmarks" / "results"
    markers = [(page, name) for page in sorted((REPO / "docs").rglob("*.md"))
               for name in RESULTS_MARKER.findall(page.read_text())]
    assert len(markers) >= 20, "the benchmark pages should include their results, not paste them"
    missing = [f"{page.relative_to(REPO)}: {name}" for page, name in markers
               if not (results / f"{name}.md").is_file() and not (results / f"{name}.json").is_file()]
    assert not missing, f"results markers without a file in benchmarks/results/: {missing}"


def test_a_results_marker_includes_the_file_under_its_heading_and_a_missing_one_fails():
    from mkdocs.exceptions import PluginError

    hooks = load_hooks()
    speed = hooks.include_results("# Page\n\n## Speed\n\n<!-- results: speed -->\n")
    first = (REPO / "benchmarks" / "results" / "speed.md").read_text().splitlines()[0]
    assert first == "# Speed: SFC against dense sampling, every backbone x runtime"
    assert "\n### Speed: SFC against dense sampling" in speed  # its title goes under the marker's heading
    assert "\n#### Every configuration" in speed and "\n# Speed:" not in speed
    assert "![speed](../benchmarks/results/speed.png)" in speed
    profile = hooks.include_results("<!-- results: profile-generic-cpu -->")
    assert profile.startswith("Measured 2026-") and "profile-generic-cpu.json" in profile
    fenced = "```\n<!-- results: nowhere -->\n```"
    assert hooks.include_results(fenced) == fenced  # a marker shown in a code block stays as it is
    with pytest.raises(PluginError, match="nowhere"):
        hooks.include_results("<!-- results: nowhere -->")


def test_the_benchmark_pages_show_each_result_s_machine_and_date_line(site):
    def text(page: Path) -> str:
        return " ".join(re.sub(r"<[^>]+>", " ", page.read_text()).split())

    def line(markdown: str) -> str:  # a markdown line as its rendered text
        return " ".join(markdown.replace("`", "").replace("&", "&amp;").split())

    sources = {page.stem: page.read_text() for page in benchmark_pages()}
    compute = site / "benchmarks" / "compute" / "index.html"
    flops = (REPO / "benchmarks" / "results" / "flops.md").read_text().splitlines()[0]
    assert DATE.search(flops), flops
    assert line(flops) in text(compute), "the compute page does not show flops.md's machine/date line"
    for stem, source in sources.items():
        html = site / ("benchmarks" if stem == "benchmarks" else f"benchmarks/{stem}") / "index.html"
        page = text(html)
        assert "<!-- results:" not in html.read_text()
        for name in RESULTS_MARKER.findall(source):
            result = REPO / "benchmarks" / "results" / f"{name}.md"
            if result.is_file():
                dated = next(ln for ln in result.read_text().splitlines() if DATE.search(ln))
                assert line(dated)[:60] in page, f"{stem}: {name}'s machine/date line is not on the built page"


def guide_pages() -> list[Path]:
    """Every source page of the site (the benchmark pages and the guide's), less those not yet cleaned."""
    return sorted((REPO / "docs").rglob("*.md"))


def prose(markdown: str) -> str:
    """The page with its code (fenced blocks, inline spans) blanked, line numbers kept: a hash
    the reader needs (a checksum, a pinned upstream commit) is shown as code."""
    return CODE.sub(lambda m: "\n" * m.group(0).count("\n"), markdown)


def test_the_benchmark_prose_has_no_dates():
    """Dates, like machines, live in the results files the pages include, not in the guide."""
    pages = benchmark_pages()
    assert len(pages) > 1
    dated = [f"{page.relative_to(REPO)}:{n}: {ln}" for page in pages
             for n, ln in enumerate(page.read_text().splitlines(), 1) if DATE.search(ln)]
    assert not dated, "dates in the benchmark guide's prose:\n" + "\n".join(dated)


def test_the_guide_prose_has_no_dates_and_no_commits():
    """Every page, not only the benchmark pages: a measurement's date, machine and commit are
    its results file's first line; the guide says what was measured and how."""
    pages = guide_pages()
    cleaned = {p.relative_to(REPO / "docs").as_posix() for p in pages}
    assert {"deploy.md", "reliability.md", "scale-out.md", "architecture.md", "model-card.md", "devices.md",
            "live.md", "checkpoints.md", "credits.md", "index.md", "benchmarks.md"} <= cleaned
    found = [f"{page.relative_to(REPO)}:{n}: {ln.strip()}" for page in pages
             for n, ln in enumerate(prose(page.read_text()).splitlines(), 1) if DATE.search(ln) or COMMIT.search(ln)]
    assert not found, "dates or commit hashes in the guide's prose:\n" + "\n".join(found)


def test_the_prose_check_sees_dates_and_commits_but_not_code_or_years():
    def flagged(markdown: str) -> bool:
        return any(DATE.search(ln) or COMMIT.search(ln) for ln in prose(markdown).splitlines())

    assert flagged("Measured 2026-12-03 on a Xeon.") and flagged("main at 25b1532, then")
    assert flagged("`a span`\nat 5eb3511~1 after a span")
    assert not flagged("ICCV 2021, arXiv 2104.00179; OpenVINO 2026.4; 1500 frames; a decade")
    assert not flagged("sha256 `31d64fc6...5e1784d60`, at\n`python -m x --before\n25b1532`")
    assert not flagged("```\ngit checkout 25b1532\n```\nafter the block")
