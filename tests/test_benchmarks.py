"""The benchmarks package (benchmarks/): every module imports without running anything,
every script answers `python -m benchmarks.NAME --help`, and the one results writer
writes the machine-and-date line and the table. Nothing here measures anything."""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODULES = sorted(p.stem for p in (REPO / "benchmarks").glob("*.py") if p.stem != "__init__")


def _is_script(name: str) -> bool:
    """A module with an `if __name__ == "__main__":` block (the others are libraries)."""
    tree = ast.parse((REPO / "benchmarks" / f"{name}.py").read_text())
    return any(isinstance(node, ast.If) and "__main__" in ast.unparse(node.test) for node in tree.body)


SCRIPTS = [m for m in MODULES if _is_script(m)]


def test_the_benchmarks_are_a_package_with_a_harness():
    assert "harness" in MODULES and len(SCRIPTS) >= 25
    assert not (REPO / "benchmarks" / "machine.py").exists()  # the machine line lives in the harness


def test_every_benchmark_module_imports_without_running():
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        for name in MODULES:
            importlib.import_module(f"benchmarks.{name}")
    assert out.getvalue() == "", out.getvalue()[-2000:]


def test_benchmarks_import_each_other_through_the_package():
    """`from benchmarks.x import ...`, never a bare sibling name (which only works from benchmarks/)."""
    bare = []
    for name in MODULES:
        tree = ast.parse((REPO / "benchmarks" / f"{name}.py").read_text())
        for node in ast.walk(tree):
            roots = [a.name.split(".")[0] for a in node.names] if isinstance(node, ast.Import) else \
                [node.module.split(".")[0]] if isinstance(node, ast.ImportFrom) and node.module and not node.level \
                else []
            bare += [f"{name}: {r}" for r in roots if r in MODULES]
    assert not bare, bare


# Scripts whose import loads torch (about 3 s of a fresh process each): as modules, one
# stands for them all (they share accuracy.py's imports); every script's --help runs
# in-process below as well.
TORCH_AT_IMPORT = {"accuracy", "accuracy_decode", "accuracy_recipe", "accuracy_short", "device_check", "flops"}
SAMPLED = [s for s in SCRIPTS if s not in TORCH_AT_IMPORT] + ["accuracy"]


def test_every_script_documents_its_module_invocation():
    """The docstring is the protocol; its command lines are the -m form that runs."""
    for name in SCRIPTS:
        doc = ast.get_docstring(ast.parse((REPO / "benchmarks" / f"{name}.py").read_text())) or ""
        assert f"python -m benchmarks.{name}" in doc, name
        assert "python benchmarks/" not in doc, name


def _help(name: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"benchmarks.{name}", "--help"], capture_output=True, text=True,
                          cwd=REPO, timeout=120)


def test_scripts_answer_help_as_modules():
    """`python -m benchmarks.NAME --help` in a fresh process, from the repository root: exit 0
    and a usage line (so no script runs its benchmark on --help)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = dict(zip(SAMPLED, pool.map(_help, SAMPLED), strict=True))
    failed = {n: d.stderr[-1000:] for n, d in done.items() if d.returncode != 0 or "usage:" not in d.stdout}
    assert not failed, failed


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_answers_help(name, monkeypatch, capsys):
    """Each script's main() with --help, in this process: it exits 0 with a usage line, before
    measuring anything."""
    module = importlib.import_module(f"benchmarks.{name}")
    monkeypatch.setattr(sys, "argv", [f"benchmarks.{name}", "--help"])
    with pytest.raises(SystemExit) as exit_:
        module.main()
    assert exit_.value.code in (0, None) and "usage:" in capsys.readouterr().out


def test_the_table_writer_writes_the_machine_and_date_line_and_the_table(tmp_path, capsys):
    from benchmarks import harness

    lines = [harness.measured(harness.command("example", "--repeats 3")) + ": what was measured.", "",
             *harness.markdown_table(["arm", "ms", "note"], [["pyav", "1.5", "x"], ["opencv", "2.0", ""]], "lr")]
    rows = [{"arm": "pyav", "ms": 1.5}, {"arm": "opencv", "ms": 2.0}]
    out = tmp_path / "results" / "example.md"
    text = harness.write_results(out, lines, rows=rows, data={"meta": {"repeats": 3}})
    assert out.read_text() == text and capsys.readouterr().out == text
    first, blank, header, rule, *body = text.splitlines()
    assert first == (f"Measured {harness.today()} on {harness.describe_machine()}, "
                     "`python -m benchmarks.example --repeats 3`: what was measured.")
    assert blank == "" and header == "| arm | ms | note |" and rule == "|---|---:|---|"
    assert body == ["| pyav | 1.5 | x |", "| opencv | 2.0 |  |"]
    assert [json.loads(x) for x in out.with_suffix(".jsonl").read_text().splitlines()] == rows
    assert json.loads(out.with_suffix(".json").read_text()) == {"meta": {"repeats": 3}}
    assert harness.results_path("decode") == harness.RESULTS / "decode.md"
    assert "cores" in harness.describe_machine()


def test_arms_interleave_round_robin_with_the_first_arm_rotating():
    from benchmarks import harness

    order = []
    runs = harness.interleave(["a", "b", "c"], 3, lambda arm, rep: order.append(arm) or f"{arm}{rep}")
    assert order == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert runs == {"a": ["a0", "a1", "a2"], "b": ["b0", "b1", "b2"], "c": ["c0", "c1", "c2"]}
    assert harness.median([3, 1, 2]) == 2 and harness.median([1, 2, 3, 4]) == 2.5


def test_a_fresh_process_measurement_returns_its_last_json_line():
    from benchmarks import harness

    code = "import json, sys\nprint('log line')\nprint(json.dumps({'arg': sys.argv[1]}))"
    assert harness.run_json(harness.python_code(code, 7)) == {"arg": "7"}
    with pytest.raises(RuntimeError, match="boom"):
        harness.run_json(harness.python_code("raise SystemExit('boom')"), what="boom")
