"""Long batch jobs that lose nothing: results are appended to a JSON-lines file as each
video finishes, a re-run skips videos already in the file, and a video that fails is
recorded with its reason instead of stopping the job.

A job killed mid-write leaves at most a partial last line; it is dropped on the next
run, so the file stays one valid JSON object per line and only the video in progress
is redone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import SfcError
from .recognizer import Recognizer
from .records import recover_jsonl


@dataclass(frozen=True)
class BatchSummary:
    total: int
    skipped: int  # already in the output
    done: int
    failed: int


def run_batch(rec: Recognizer, videos: Sequence[str], output: str | Path, progress: bool = True,
              **predict_kwargs) -> BatchSummary:
    """Predict every video into `output` (JSON lines), resuming where a previous run stopped."""
    from tqdm import tqdm

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    seen = recover_jsonl(output)
    todo = [v for v in videos if v not in seen]
    done = failed = 0
    # iter_predict decodes ahead and keeps the runtime busy; results come back in order. A
    # bad option (ConfigError) fails the same way for every video and stops the job.
    results = rec.iter_predict(todo, errors="yield", **predict_kwargs)
    with output.open("a") as f:
        for video, result in tqdm(zip(todo, results, strict=True), total=len(todo), desc="predict", unit="video",
                                  disable=not progress):
            if isinstance(result, SfcError):
                record = {"source": video, "error": str(result), "error_type": type(result).__name__}
                failed += 1
            else:
                record = result.to_dict()
                record["source"] = video  # the key a re-run matches on, exactly as given
                done += 1
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())  # on disk before the next video starts
    return BatchSummary(len(videos), len(videos) - len(todo), done, failed)
