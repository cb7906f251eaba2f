"""Long batch jobs that lose nothing: one record per video (records.py, the same flat
schema a Ray job writes) is appended to a JSON-lines file as each video finishes, a
re-run skips videos already done and retries those that failed, and a video that fails
is recorded with its reason instead of stopping the job.

A job killed mid-write leaves at most a partial last line; it is dropped on the next
run, so the file stays one valid JSON object per line and only the video in progress
is redone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import SfcError
from .recognizer import Recognizer
from .records import JsonlResults, error_record, prediction_record


@dataclass(frozen=True)
class BatchSummary:
    total: int
    skipped: int  # already in the output
    done: int
    failed: int
    retried: int = 0  # of done + failed: videos whose earlier try had failed

    def line(self, output: str | Path) -> str:
        """What the CLI prints when a job ends."""
        retried = f" ({self.retried} retried after failing before)" if self.retried else ""
        return (f"{output}: {self.done} done, {self.failed} failed{retried}, {self.skipped} already there "
                f"(of {self.total})")


def run_batch(rec: Recognizer, videos: Sequence[str], output: str | Path, progress: bool = True,
              retry_failed: bool = True, **predict_kwargs) -> BatchSummary:
    """Predict every video into `output` (JSON lines), resuming where a previous run stopped.
    `retry_failed`: videos whose earlier try failed are run again (False: left as they are)."""
    from tqdm import tqdm

    results = JsonlResults(Path(output), retry_failed=retry_failed)
    todo = list(dict.fromkeys(v for v in videos if v not in results.done))
    done = failed = 0
    try:
        # iter_predict decodes ahead and keeps the runtime busy; results come back in order. A
        # bad option (ConfigError) fails the same way for every video and stops the job.
        outcomes = rec.iter_predict(todo, errors="yield", **predict_kwargs)
        for video, result in tqdm(zip(todo, outcomes, strict=True), total=len(todo), desc="predict", unit="video",
                                  disable=not progress):
            # `source` is the video exactly as given: the key a re-run matches on.
            if isinstance(result, SfcError):
                results.write(error_record(video, result))
                failed += 1
            else:
                results.write(prediction_record(video, result))
                done += 1
    finally:
        results.close()
    retried = len(results.retried & set(todo))
    return BatchSummary(len(videos), len(videos) - len(todo), done, failed, retried)
