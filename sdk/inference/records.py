"""Flat prediction records, and result files that lose nothing.

A record is one video's result with primitive fields only (the same in JSON lines and
Parquet, and in the `ray.data.Dataset` that `ray_job.py` returns): its source, label and
score, the top-k, the kept moments, timings, where it ran, and for a video that failed,
the error and its type instead of a label. `open_results(path)` opens a results file for
appending: `.jsonl` (one fsynced line per record; a torn last line from a killed write
is cut off) or `.parquet` (a folder of part files, each written whole and renamed into
place, so a killed job loses at most the records not yet flushed). `done` lists the
sources already there, so a re-run skips them. Videos that failed are retried by a
re-run (their old records are removed first, so each source stays once in the file):
a failure is often the machine's, not the video's (a full disk, a killed worker).
Local jobs (`batch.py`) and Ray jobs (`ray_job.py`) write these same records.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from ..errors import ConfigError, MissingExtraError
from ..fileio import write_atomic
from ..formats import RAY_EXTRA, extra_hint
from .results import Prediction

# name -> pyarrow type name; every record has every field (None where it does not apply)
FIELDS: dict[str, str] = {
    "source": "string", "mode": "string", "views": "string", "label": "string", "score": "float64",
    "top_labels": "list<string>", "top_scores": "list<float64>",
    "kept_frames": "list<int64>", "kept_times": "list<float64>",
    "num_frames": "int64", "fps": "float64", "ratio": "int64", "runtime": "string",
    "decode_ms": "float64", "preprocess_ms": "float64", "inference_ms": "float64", "total_ms": "float64",
    "host": "string", "notes": "list<string>", "error": "string", "error_type": "string",
}


def prediction_record(source: str, pred: Prediction) -> dict[str, Any]:
    t = pred.timings_ms
    return {
        "source": source, "mode": pred.mode, "views": pred.views, "label": pred.label, "score": float(pred.score),
        "top_labels": [s.label for s in pred.top], "top_scores": [float(s.score) for s in pred.top],
        "kept_frames": [int(k.frame) for k in pred.kept], "kept_times": [k.time_s for k in pred.kept],
        "num_frames": int(pred.num_frames), "fps": pred.fps, "ratio": pred.ratio, "runtime": pred.runtime,
        "decode_ms": t.get("decode"), "preprocess_ms": t.get("preprocess"), "inference_ms": t.get("inference"),
        "total_ms": t.get("total"), "host": f"{socket.gethostname()}:{os.getpid()}", "notes": list(pred.notes),
        "error": None, "error_type": None,
    }


def error_record(source: str, error: BaseException) -> dict[str, Any]:
    record: dict[str, Any] = {name: [] if kind.startswith("list") else None for name, kind in FIELDS.items()}
    record.update(source=source, host=f"{socket.gethostname()}:{os.getpid()}", error=str(error) or repr(error),
                  error_type=type(error).__name__)
    return record


def _writable(path: Path, folder: bool = False) -> None:
    """Fail now, in one line, where results could not be written (not after the first video)."""
    if not folder and path.is_dir():
        raise ConfigError(f"{path} is a folder: results go to a file, e.g. {path / 'results.jsonl'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not folder:
            path.open("a").close()
    except OSError as e:
        raise ConfigError(f"cannot write results to {path}: {e.strerror or e}") from None


def _jsonl_records(output: Path) -> list[tuple[str, bool, bytes]]:
    """(source, failed, line) of each record; a torn last line (a killed write) is cut off the file."""
    data = output.read_bytes() if output.exists() else b""
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        output.write_bytes(data)
    records = []
    for line in data.splitlines(keepends=True):
        try:
            record = json.loads(line)
            records.append((record["source"], record.get("error") is not None, line))
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
            raise ConfigError(f"{output}: not a results file of this tool (bad line {line[:60]!r})") from None
    return records


class JsonlResults:
    """A JSON-lines results file opened for appending. `done`: sources a re-run skips;
    `retried`: sources that failed before and are to be run again (`retry_failed`)."""

    def __init__(self, path: Path, retry_failed: bool = True) -> None:
        _writable(path)
        records = _jsonl_records(path)
        failed = {source for source, bad, _ in records if bad} - {source for source, bad, _ in records if not bad}
        self.retried = failed if retry_failed else set()
        if self.retried:  # rewritten whole, then renamed: a crash leaves the old file or the new one
            write_atomic(path, b"".join(line for source, _, line in records if source not in self.retried))
        self.path = path
        self.done = {source for source, _, _ in records} - self.retried
        self._file = path.open("a")

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())  # on disk before the next result

    def close(self) -> None:
        self._file.close()


def arrow_schema() -> Any:
    """The records' pyarrow schema (fixed, so a part of only failures reads like any other)."""
    try:
        import pyarrow as pa
    except ImportError:
        raise MissingExtraError(f"Parquet results need pyarrow, in the {RAY_EXTRA} extra: "
                                f"{extra_hint(RAY_EXTRA)}") from None
    scalar = {"string": pa.string(), "float64": pa.float64(), "int64": pa.int64()}
    return pa.schema([(name, pa.list_(scalar[kind[5:-1]]) if kind.startswith("list") else scalar[kind])
                      for name, kind in FIELDS.items()])


class ParquetResults:
    """A folder of Parquet parts; a part is written every `flush_rows` records or `flush_s` seconds."""

    def __init__(self, path: Path, flush_rows: int = 64, flush_s: float = 10.0, retry_failed: bool = True) -> None:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        self._schema, self._pq = arrow_schema(), pq
        if path.exists() and not path.is_dir():
            raise ConfigError(f"{path}: Parquet results are a folder of parts; this is a file")
        _writable(path, folder=True)
        path.mkdir(exist_ok=True)
        self.path, self.done, self.retried = path, set(), set()
        for part in sorted(path.glob("part-*.parquet")):
            table = pq.read_table(part, schema=self._schema)
            failed = pc.is_valid(table.column("error"))
            if retry_failed and pc.any(failed).as_py():  # the part rewritten without its failures
                self.retried.update(table.filter(failed).column("source").to_pylist())
                table = table.filter(pc.invert(failed))
                tmp = part.with_suffix(".tmp")
                self._pq.write_table(table, tmp)
                os.replace(tmp, part)
            self.done.update(table.column("source").to_pylist())
        self.retried -= self.done
        self._next = len(list(path.glob("part-*.parquet")))
        self._rows: list[dict[str, Any]] = []
        self._flush_rows, self._flush_s, self._last = flush_rows, flush_s, time.monotonic()

    def write(self, record: dict[str, Any]) -> None:
        self._rows.append(record)
        if len(self._rows) >= self._flush_rows or time.monotonic() - self._last >= self._flush_s:
            self.flush()

    def flush(self) -> None:
        if self._rows:
            import pyarrow as pa

            part = self.path / f"part-{self._next:06d}.parquet"
            tmp = part.with_suffix(".tmp")
            self._pq.write_table(pa.Table.from_pylist(self._rows, schema=self._schema), tmp)
            os.replace(tmp, part)  # whole or absent: a reader never sees half a part
            self._next, self._rows = self._next + 1, []
        self._last = time.monotonic()

    def close(self) -> None:
        self.flush()


def open_results(path: str | os.PathLike, retry_failed: bool = True) -> JsonlResults | ParquetResults:
    """A results file opened for appending (see the module docstring); `retry_failed`:
    videos whose earlier try failed are run again (False: skipped like the others)."""
    path = Path(path)
    if path.suffix == ".parquet":
        return ParquetResults(path, retry_failed=retry_failed)
    if path.suffix in (".jsonl", ".json", ".ndjson") or not path.suffix:
        return JsonlResults(path, retry_failed=retry_failed)
    raise ConfigError(f"{path}: results go to a .jsonl or a .parquet path")
