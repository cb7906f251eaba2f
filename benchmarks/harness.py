"""What every benchmark shares: where things are, the machine-and-date line, fresh-process
measurements with arms interleaved, medians, and the one writer of results tables.

A new benchmark is one module, `benchmarks/NAME.py`, run as `python -m benchmarks.NAME`
from the repository root. Its docstring is the measurement protocol; the pattern is:

    from benchmarks.harness import (RESULTS, command, interleave, markdown_table, measured, median,
                                    python_code, run_json, write_results)

    WORKER = "import json, sys ... print(json.dumps({'ms': ...}))"   # one arm, in a fresh process

    def main() -> None:
        parser = argparse.ArgumentParser(description=__doc__, ...)
        parser.add_argument("--repeats", type=int, default=3)
        parser.add_argument("--out", type=Path, default=RESULTS / "NAME.md")
        args = parser.parse_args()
        runs = interleave(ARMS, args.repeats, lambda arm, rep: run_json(python_code(WORKER, arm)))
        rows = [[arm, f"{median(r['ms'] for r in runs[arm]):.1f}"] for arm in ARMS]
        write_results(args.out, [measured(command("NAME")) + ": what was measured.", "",
                                 *markdown_table(["arm", "ms"], rows, align="lr")])

    if __name__ == "__main__":   # importing the module runs nothing
        main()

A script that needs its own code in the fresh process runs itself as a worker:
`run_json(module_command("NAME", "--worker", ...))` (see decode.py, contention.py, scale.py).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
# Data and weights kept beside the checkout (see ../shared/data/README.md); SFC_SHARED moves them, as for the tests.
SHARED = Path(os.environ.get("SFC_SHARED", REPO.parent / "shared"))
DATA = SHARED / "data"
WEIZMANN = DATA / "weizmann"
CLIPS = DATA / "clips"
DEFAULT_MODEL = REPO / "sdk" / "assets" / "default_model"
CLI = Path(sys.executable).with_name("sfc-sdk")  # the `sfc-sdk` command of this interpreter's environment

T = TypeVar("T")


# --- the machine-and-date line --------------------------------------------------------
def describe_machine() -> str:
    """One line naming the machine a benchmark ran on, for the committed tables."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 ** 2:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.machine()}"


def today() -> str:
    """The local date, as the tables write it (2026-12-07)."""
    return datetime.date.today().isoformat()


def utc_now() -> str:
    """Date and time in UTC, minutes (2026-12-07 03:35), for tables that say "UTC"."""
    return f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M}"


def command(name: str, args: str | Sequence[str] | None = None) -> str:
    """The command line that reproduces a table: `python -m benchmarks.NAME ARGS`; args
    None means this process's own arguments."""
    if args is None:
        args = sys.argv[1:]
    text = args if isinstance(args, str) else " ".join(args)
    return f"python -m benchmarks.{name}" + (f" {text}" if text else "")


def measured(cmd: str, *, when: str | None = None, verb: str = "Measured") -> str:
    """The machine-and-date line a table starts with: "Measured DATE on MACHINE, `CMD`"."""
    return f"{verb} {when or today()} on {describe_machine()}, `{cmd}`"


# --- fresh processes, interleaved arms, medians ----------------------------------------
def python_code(code: str, *args: object) -> list[str]:
    """A fresh interpreter running `code` (python -c) with these arguments."""
    return [sys.executable, "-c", code, *map(str, args)]


def module_command(name: str, *args: object) -> list[str]:
    """A fresh interpreter running benchmarks.NAME (a script's own --worker mode); run it
    with cwd=REPO (run_json's default for it) so the package imports."""
    return [sys.executable, "-m", f"benchmarks.{name}", *map(str, args)]


def last_json(stdout: str) -> Any:
    """The last line of a worker's output that is a JSON object (what it measured)."""
    lines = [line for line in stdout.strip().splitlines() if line.startswith("{")]
    if not lines:
        raise ValueError(f"no JSON line in the worker's output: {stdout[-500:]!r}")
    return json.loads(lines[-1])


def run_json(cmd: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | str | None = REPO,
             timeout: float | None = None, what: str | None = None) -> Any:
    """Run one measurement in a fresh process and return the JSON object it printed last;
    a failure raises RuntimeError with the end of its stderr."""
    done = subprocess.run(list(cmd), capture_output=True, text=True, env=None if env is None else dict(env),
                          cwd=cwd, timeout=timeout)
    if done.returncode:
        raise RuntimeError(f"{what or ' '.join(cmd[:4])} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return last_json(done.stdout)


def rotated(arms: Sequence[T], repeat: int) -> list[T]:
    """The arms in repeat `repeat`'s order: round-robin, the first arm rotating each repeat."""
    arms = list(arms)
    if not arms:
        return arms
    k = repeat % len(arms)
    return arms[k:] + arms[:k]


def interleave(arms: Iterable[T], repeats: int, measure: Callable[[T, int], Any], *, rotate: bool = True,
               progress: Callable[[T, int, Any], None] | None = None) -> dict[T, list[Any]]:
    """Every arm once per repeat (each call its own measurement, usually a fresh process),
    the arms interleaved round-robin and, with `rotate`, the first arm rotating each repeat:
    {arm: [result per repeat]}. `progress(arm, repeat, result)` is called after each."""
    arms = list(arms)
    results: dict[T, list[Any]] = {a: [] for a in arms}
    for rep in range(repeats):
        for arm in rotated(arms, rep) if rotate else arms:
            results[arm].append(measure(arm, rep))
            if progress is not None:
                progress(arm, rep, results[arm][-1])
    return results


def median(values: Iterable[float]) -> float:
    """The median (statistics.median: the mean of the middle two for an even count)."""
    return statistics.median(list(values))


# --- the results table --------------------------------------------------------------
def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[object]],
                   align: str | Sequence[str] = "") -> list[str]:
    """A markdown table's lines: header, rule, one line per row. `align` per column: "l"
    (`---`) or "r" (`---:`); a string like "llr" or a shorter one pads with "l"."""
    align = list(align) + ["l"] * (len(columns) - len(align))
    rule = "|" + "".join("---:|" if a == "r" else "---|" for a in align)
    return ["| " + " | ".join(columns) + " |", rule, *("| " + " | ".join(map(str, row)) + " |" for row in rows)]


def results_path(out: Path | str) -> Path:
    """A bare name is benchmarks/results/NAME.md; a path stays as it is."""
    if isinstance(out, str) and "/" not in out:
        return RESULTS / (out if out.endswith(".md") else f"{out}.md")
    return Path(out)


def write_results(out: Path | str, lines: str | Sequence[str], *, rows: Iterable[Mapping] | None = None,
                  data: object = None, echo: bool = True) -> str:
    """Write a benchmark's results: the markdown (`lines`, usually the machine-and-date line
    from `measured`, a blank line and `markdown_table`'s lines) to `out` (a bare NAME is
    benchmarks/results/NAME.md), `rows` as JSON lines beside it (.jsonl), `data` as
    indented JSON beside it (.json). Prints the markdown unless `echo` is False; returns it."""
    path = results_path(out)
    text = lines if isinstance(lines, str) else "\n".join(lines)
    text = text if text.endswith("\n") else text + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if rows is not None:
        path.with_suffix(".jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if data is not None:
        path.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n")
    if echo:
        print(text, end="")
    return text
