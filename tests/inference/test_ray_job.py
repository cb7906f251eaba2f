"""Batch recognition on a real local Ray cluster (2 CPUs): the same answers as the serial
path, a killed worker replaced, an interrupted job resumed, bad files recorded, nothing
from Ray on the CLI's streams. (A node lost mid-job: test_ray_cluster.py.)"""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from sfc_sdk import Recognizer  # noqa: E402
from sfc_sdk.errors import ConfigError  # noqa: E402
from sfc_sdk.inference.ray_job import run_ray_job, size_pool  # noqa: E402


@pytest.fixture(scope="module")
def ray_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def videos(weizmann_dir, tmp_path_factory) -> list[str]:
    """The 70 Weizmann clips and, among them, a text file named like a video."""
    bad = tmp_path_factory.mktemp("bad") / "notes.avi"
    bad.write_text("not a video\n" * 50)
    clips = sorted(str(p) for p in weizmann_dir.glob("*/*.avi"))
    return [*clips[:35], str(bad), *clips[35:]]


def _records(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    return [json.loads(line) for line in path.read_text().splitlines()]


def _check_against_serial(records: list[dict], rec: Recognizer, videos: list[str]) -> None:
    assert sorted(r["source"] for r in records) == sorted(videos)  # one record per video
    by_source = {r["source"]: r for r in records}
    for video in videos:
        record = by_source[video]
        if video.endswith("notes.avi"):
            assert record["error_type"] == "NotAVideoError" and "not a video" in record["error"]
            assert record["label"] is None
            continue
        pred = rec.predict(video)
        assert record["error"] is None and record["label"] == pred.label, video
        assert record["score"] == pytest.approx(pred.score, abs=1e-5)
        assert record["top_labels"] == [s.label for s in pred.top] and record["kept_frames"] == [
            k.frame for k in pred.kept]


def test_the_ray_job_answers_as_the_serial_path(ray_cluster, videos, bundles, tmp_path):
    out = tmp_path / "results.jsonl"
    summary = run_ray_job(videos, None, out, progress=False)  # the bundled model directory, on PyTorch
    assert (summary.done, summary.failed, summary.skipped) == (70, 1, 0)
    _check_against_serial(_records(out), Recognizer(), videos)

    bundle = bundles("openvino", "fp32")
    parquet = tmp_path / "bundle.parquet"
    summary = run_ray_job(videos, bundle, parquet, progress=False)
    assert (summary.done, summary.failed) == (70, 1)
    records = _records(parquet)
    assert all(r["runtime"].startswith("openvino") for r in records if r["error"] is None)
    _check_against_serial(records, Recognizer(bundle), videos)


def test_a_dataset_of_paths_gives_a_dataset_of_records(ray_cluster, videos):
    from sfc_sdk.inference.ray_job import predict_dataset

    clips = [v for v in videos if not v.endswith("notes.avi")][::20]
    records = predict_dataset(ray.data.from_items([{"path": v} for v in clips]), None, top_k=3).take_all()
    assert sorted(r["source"] for r in records) == sorted(clips) and all(len(r["top_labels"]) == 3 for r in records)
    rec = Recognizer()
    assert all(r["label"] == rec.predict(r["source"]).label for r in records)


def _inference_worker_pids() -> list[int]:
    """Ray names its worker processes after what they run (ray::MapWorker(MapBatches(_Inference)))."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and b"_Inference" in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def test_a_killed_inference_worker_is_replaced_and_each_video_written_once(ray_cluster, videos, tmp_path):
    killed: list[int] = []

    def kill_the_worker_once(record: dict) -> None:
        if not killed:
            pids = _inference_worker_pids()
            assert pids, "no inference worker process is running"
            killed.append(pids[0])
            os.kill(pids[0], signal.SIGKILL)  # mid-job: later videos are in flight

    out = tmp_path / "results.jsonl"
    clips = [v for v in videos if not v.endswith("notes.avi")][:16]
    summary = run_ray_job(clips, None, out, progress=False, on_record=kill_the_worker_once)
    records = _records(out)
    assert killed and summary.done == 16 and sorted(r["source"] for r in records) == sorted(clips)
    pids = [int(r["host"].rsplit(":", 1)[1]) for r in records]
    assert killed[0] in pids and pids[-1] != killed[0], "later videos should come from the restarted worker"


def test_an_interrupted_job_resumes_with_only_the_missing_videos(ray_cluster, videos, tmp_path):
    clips = [v for v in videos if not v.endswith("notes.avi")][:12]
    out = tmp_path / "results.parquet"

    def interrupt_after_five(record: dict, seen: list = []) -> None:  # noqa: B006 - a counter
        seen.append(record)
        if len(seen) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_ray_job(clips, None, out, progress=False, on_record=interrupt_after_five)
    assert len(_records(out)) == 5  # what finished was on disk before the interrupt
    summary = run_ray_job(clips, None, out, progress=False)
    assert (summary.skipped, summary.done) == (5, 7)
    assert sorted(r["source"] for r in _records(out)) == sorted(clips)


def test_the_cli_joins_a_running_cluster_and_records_a_bad_file(ray_cluster, cli, videos, tmp_path):
    out = tmp_path / "out.jsonl"
    picked = [videos[0], videos[35], videos[1]]  # the text file in the middle
    result = cli("predict", *picked, "--engine", "ray", "--address", "auto", "--output", str(out))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{out}: 2 done, 1 failed, 0 already there (of 3)" in result.stderr
    assert {r["source"] for r in _records(out)} == set(picked)
    result = cli("predict", videos[0], "--engine", "ray", "--mode", "dense", "--output", str(out))
    assert result.returncode != 0 and result.stderr.strip().count("\n") == 0 and "dense" in result.stderr


def _sdk_lines(stderr: str) -> list[str]:
    """stderr without the progress bar's frames (tqdm redraws its line after a carriage return)."""
    return [line for line in re.split(r"[\r\n]", stderr) if line.strip() and not line.startswith("predict (ray):")]


def test_a_successful_cli_job_prints_only_what_the_sdk_prints(cli, videos, tmp_path):
    """The CLI starting a Ray of its own, as a user runs it: no Ray line on either stream,
    such as Ray core's `E ... core_worker.cc` line about every Ray Data actor pool (its
    actors take object refs and restart), logged by the process that creates the pool."""
    out = tmp_path / "out.jsonl"
    picked = [v for v in videos if not v.endswith("notes.avi")][:3]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # never this module's Ray
    result = cli("predict", *picked, "--engine", "ray", "--output", str(out), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == ""
    assert "core_worker" not in result.stderr and " E " not in result.stderr, result.stderr[-3000:]
    assert _sdk_lines(result.stderr) == [f"{out}: 3 done, 0 failed, 0 already there (of 3)"]
    assert sorted(r["source"] for r in _records(out)) == sorted(picked)


def test_the_pool_leaves_room_for_decoding():
    assert size_pool(2) == size_pool(2, workers=1)  # 1 actor on 2 CPUs
    assert size_pool(2).actor_cpus + size_pool(2).decode_cpus <= 2
    two = size_pool(2, workers=2)
    assert two.workers * two.actor_cpus + two.decode_cpus <= 2  # fractional actors, not a starved decoder
    assert size_pool(16, threads_per_worker=4).workers == 3
    # Nodes (their CPUs): the pool still fits, with a decode task, after losing the largest
    # node, and leaves a decode task room on any one node (Ray restarts a lost node's actors
    # on the others).
    small = size_pool([1, 1])
    assert small.workers == 1 and small.actor_cpus + small.decode_cpus <= 1
    two_small = size_pool([1, 1], workers=2)
    assert two_small.workers * two_small.actor_cpus + two_small.decode_cpus <= 1
    big = size_pool([8, 8, 0])  # a 0-CPU head takes no part
    assert big.workers * big.actor_cpus + big.decode_cpus <= 8 and big.actor_cpus == 1
    with pytest.raises(ConfigError, match="largest node"):
        size_pool([1, 1], workers=8)
    with pytest.raises(ConfigError, match="fewer workers"):
        size_pool(2, workers=40)


STARVED_JOB = """
import ray
from sfc_sdk.errors import JobStalledError
from sfc_sdk.inference.ray_job import _rows

class Passthrough:
    def __call__(self, batch):
        return batch

ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
starved = ray.data.range(4).map_batches(Passthrough, compute=ray.data.ActorPoolStrategy(size=1), num_cpus=3)
try:
    list(_rows(starved, stall_timeout_s=3.0))
except JobStalledError as e:
    print("stalled:", e)
"""


def test_a_job_that_cannot_be_scheduled_stops_with_a_clear_error_instead_of_waiting():
    """In a process of its own, with a Ray of its own (a starved pool on this module's)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", STARVED_JOB], capture_output=True, text=True, timeout=120)
    assert "stalled: the Ray job produced no result for 3 s" in out.stdout, out.stderr[-2000:]
