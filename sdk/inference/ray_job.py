"""Batch recognition on Ray Data: decoding in CPU tasks, inference in an actor pool, nothing lost.

    ds = predict_dataset(paths, "bundle/")                 # a ray.data.Dataset of records (records.py)
    summary = run_ray_job(paths, "bundle/", "results.jsonl")   # written as they finish, resumable

Decoding, the dominant cost with small models, runs as Ray tasks of `decode_cpus` CPUs
each, so it spreads over every CPU of the cluster; inference runs in `workers` actors,
each loading the model once (one Recognizer per actor, its runtime using
`threads_per_worker` threads). The decode tasks use the model's own recipe
(`Recognizer.sfc_recipe`), so results equal `Recognizer.predict`'s.

Sizing: the actors never take every CPU, of the cluster or of any one node, and a pool
fits the cluster less its largest node. A pool that takes every CPU starves Ray Data's
read and decode tasks and the job waits forever without an error (seen with two 1-CPU
actors on 2 CPUs, and with a 1-CPU actor on two 1-CPU nodes after losing one: the node
left had the actor and no CPU to decode), so actors get fractional CPUs where needed
and the driver stops with `JobStalledError` when no result arrives for `stall_timeout_s`.

Where the job runs: the Dataset's executor runs in a runner actor on the driver's node, not
in the driver. Ray Data creates the pool's actors from the process that iterates, and Ray
core writes that process's native ERROR lines to its stderr: a once-per-process line about
every Ray Data actor pool ("has constructor arguments in the object store and max_restarts
> 0", ray-project/ray#53727, #57733; Ray Data passes its own DataContext and transform as
object refs). In a worker, they go to the session's log files like all worker output, so a
successful job prints only what the SDK prints. (That line's caveat does not bite here:
those refs are held by the runner for the whole job, on the driver's node.) Killing the
runner also stops a stalled job's executor. A dead node's tasks are retried and its actors
restarted elsewhere by Ray; the driver writes each source once.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DistributedJobError, JobStalledError, MissingExtraError, SfcError
from ..formats import RAY_EXTRA, extra_hint
from .batch import BatchSummary
from .recognizer import Recognizer
from .records import arrow_schema, error_record, open_results, prediction_record
from .sfc_input import SfcRecipe

STALL_TIMEOUT_S = 600.0
# Videos per decode task and per actor call: Ray's per-task cost is tens of ms, a small
# model's inference about 50 (70 Weizmann clips on 2 CPUs: 9.6 s with 1, 7.7 s with 4).
VIDEOS_PER_TASK = 4


def require_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise MissingExtraError(f"--engine ray needs Ray Data, the {RAY_EXTRA} extra: "
                                f"{extra_hint(RAY_EXTRA)}") from None
    return ray


def connect(address: str | None = None) -> Any:
    """Join the cluster at `address` ("auto": the one running on this machine), or start
    a local Ray on this machine's CPUs; an already connected session is used as is."""
    ray = require_ray()
    if not ray.is_initialized():
        try:
            ray.init(address=address, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False,
                     **({} if address else {"num_cpus": os.cpu_count()}))
        except ConnectionError as e:
            raise ConfigError(f"cannot reach a Ray cluster at {address}: {e}") from None
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the driver shows one bar, per video
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    return ray


@dataclass(frozen=True)
class PoolSize:
    workers: int  # inference actors
    actor_cpus: float  # CPUs reserved per actor
    decode_cpus: float  # CPUs per decode task


def size_pool(cpus: float | Sequence[float], workers: int | None = None, threads_per_worker: int = 1,
              decode_cpus: float = 0.5) -> PoolSize:
    """Actors and their CPUs on a cluster whose nodes have `cpus` CPUs (a number: one
    node). The actors fit the cluster less its largest node and still leave a decode
    task's CPUs, and an actor leaves a decode task room on any one node: Ray restarts a
    lost node's actors on the nodes left, where they must not take every CPU (the job
    would wait forever). Default workers: one per `threads_per_worker` of those CPUs,
    minus one `threads_per_worker` for decoding where there is room (1 on 2 CPUs)."""
    if threads_per_worker < 1 or decode_cpus <= 0 or (workers is not None and workers < 1):
        raise ConfigError("workers and threads per worker must be at least 1, decode CPUs more than 0")
    nodes = [float(cpus)] if isinstance(cpus, (int, float)) else [float(c) for c in cpus if c > 0] or [1.0]
    lasting = sum(nodes) - max(nodes) if len(nodes) > 1 else nodes[0]  # after losing any one node
    if workers is None:
        workers = max(1, int(lasting // threads_per_worker) - 1)
    actor_cpus = min(float(threads_per_worker), (lasting - decode_cpus) / workers)
    if min(nodes) - decode_cpus >= 0.1:  # a node too small for an actor and a decode task gains nothing from a cap
        actor_cpus = min(actor_cpus, min(nodes) - decode_cpus)
    if actor_cpus < 0.1:
        where = f"{lasting:g} CPUs" + (" (the cluster less its largest node)" if len(nodes) > 1 else "")
        raise ConfigError(f"{workers} inference workers do not fit {where} and still leave "
                          f"{decode_cpus:g} CPU for decoding; use fewer workers")
    return PoolSize(workers, actor_cpus, decode_cpus)


def _node_cpus(ray: Any) -> list[float]:
    """Each live node's CPUs (a 0-CPU head runs no actors or tasks)."""
    return [n["Resources"].get("CPU", 0.0) for n in ray.nodes() if n.get("Alive")]


def _decode(row: dict[str, Any], recipe: SfcRecipe) -> dict[str, Any]:
    """A Ray task: one video decoded and preprocessed, or its failure."""
    source = row["source"]
    try:
        item = recipe.prepare(source).without_frames()
        return {"source": source, "item": pickle.dumps(item), "error": None}
    except Exception as e:  # noqa: BLE001 - recorded with its type, never the job's end
        return {"source": source, "item": None, "error": pickle.dumps(error_record(source, e))}


class _Inference:
    """A Ray actor: the model loaded once, SFC passes on decoded inputs."""

    def __init__(self, model: str, runtime: str | None, threads: int, top_k: int) -> None:
        self.rec = Recognizer(model, runtime=runtime, threads=threads)
        self.top_k = top_k

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        records = []
        rows = (batch.column(name).to_pylist() for name in ("source", "item", "error"))  # bytes exactly as written
        for source, item, error in zip(*rows, strict=True):
            if error is not None:
                records.append(pickle.loads(error))
                continue
            try:
                records.append(prediction_record(source, self.rec.run_prepared(pickle.loads(item), self.top_k)))
            except Exception as e:  # noqa: BLE001
                records.append(error_record(source, e))
        return pa.Table.from_pylist(records, schema=arrow_schema())


def predict_dataset(videos: Sequence[str] | Any, model: str | Path | None = None, *, workers: int | None = None,
                    threads_per_worker: int = 1, decode_cpus: float = 0.5, videos_per_task: int = VIDEOS_PER_TASK,
                    runtime: str | None = None, top_k: int = 5, ratio: int | None = None, frames: int | None = None,
                    short: str = "adapt", decode: str = "exact") -> Any:
    """A lazy `ray.data.Dataset` of records (records.py), one per video, in no fixed order.
    `videos`: paths, or a Dataset with a "source" (or "path") column; `model`: a model
    directory or bundle readable at the same path on every node (None: the bundled model).
    `workers`, `decode_cpus`, `videos_per_task`: see `size_pool` and VIDEOS_PER_TASK.
    Needs a connected Ray (`connect`)."""
    ray = require_ray()
    if not ray.is_initialized():
        raise ConfigError("connect to Ray first (sfc_sdk.inference.ray_job.connect)")
    if top_k < 1 or videos_per_task < 1:
        raise ConfigError(f"top_k and videos per task must be at least 1, got {top_k} and {videos_per_task}")
    # The recipe from the model itself (its sampling, input size and the shorter inputs
    # its runtime takes), made once here and shipped to every decode task.
    rec = Recognizer(model, runtime=runtime, threads=threads_per_worker)
    recipe = rec.sfc_recipe(ratio, frames, short, decode)
    model_path = str(Path(rec.model_path).resolve())
    size = size_pool(_node_cpus(ray), workers, threads_per_worker, decode_cpus)
    if isinstance(videos, ray.data.Dataset):
        columns = videos.columns()
        if "source" not in columns:
            if "path" not in columns:
                raise ConfigError(f"the dataset needs a 'source' or 'path' column of video paths, has {columns}")
            videos = videos.rename_columns({"path": "source"})
        ds = videos
    else:
        items = [{"source": str(v)} for v in videos]
        if not items:
            raise ConfigError("no videos to predict")
        blocks = max(1, min(len(items) // videos_per_task, 10_000))
        ds = ray.data.from_items(items, override_num_blocks=blocks)
    # Ray Data's defaults retry what dies: tasks without limit (their lost outputs made
    # again), actors restarted with their calls retried (max_restarts=-1,
    # max_task_retries=-1), so a killed worker or node costs only its videos' time.
    # max_calls=0 is Ray's default for tasks (a worker reused without limit), named only to
    # keep decoding in tasks: Ray Data fuses a map into the actor pool after it when their
    # Ray options are equal (0.5 CPU each on 1-CPU nodes), and one actor then decodes and
    # infers in turn.
    decoded = ds.map(_decode, fn_kwargs={"recipe": recipe}, num_cpus=size.decode_cpus, max_calls=0)
    return decoded.map_batches(
        _Inference, fn_constructor_kwargs={"model": model_path, "runtime": runtime, "threads": threads_per_worker,
                                           "top_k": top_k},
        batch_size=videos_per_task, compute=ray.data.ActorPoolStrategy(size=size.workers), num_cpus=size.actor_cpus,
        batch_format="pyarrow")


def run_ray_job(videos: Sequence[str], model: str | Path | None, output: str | os.PathLike, *,
                address: str | None = None, workers: int | None = None, threads_per_worker: int = 1,
                progress: bool = True, stall_timeout_s: float = STALL_TIMEOUT_S, retry_failed: bool = True,
                on_record: Callable[[dict[str, Any]], None] | None = None, **predict_kwargs: Any) -> BatchSummary:
    """Predict `videos` on Ray into `output` (.jsonl or .parquet), each record written as
    it arrives; a re-run skips videos already done and retries those that failed
    (`retry_failed=False`: skips them too). `on_record` sees each record after it is
    written (progress reporting, tests)."""
    from tqdm import tqdm

    results = open_results(output, retry_failed=retry_failed)
    try:
        todo = list(dict.fromkeys(v for v in videos if v not in results.done))
        done = failed = 0
        if todo:
            connect(address)
            ds = predict_dataset(todo, model, workers=workers, threads_per_worker=threads_per_worker,
                                 **predict_kwargs)
            wanted = set(todo)
            with tqdm(total=len(todo), desc="predict (ray)", unit="video", disable=not progress) as bar:
                with closing(_rows(ds, stall_timeout_s)) as rows:  # closed on any exit: the runner stops
                    for record in rows:
                        if record["source"] not in wanted:
                            continue  # a retried video already written
                        wanted.discard(record["source"])
                        results.write(record)
                        failed += record["error"] is not None
                        done += record["error"] is None
                        bar.update()
                        if on_record:
                            on_record(record)
    finally:
        results.close()
    return BatchSummary(len(videos), len(videos) - len(todo), done, failed, len(results.retried & set(todo)))


class _JobRunner:
    """A Ray actor on the driver's node that runs the Dataset's executor and hands its
    records to the driver (why not the driver itself: the module docstring)."""

    def __init__(self, ds: Any) -> None:
        self._batches = iter(ds.iter_batches(batch_size=None, batch_format="pyarrow"))

    def next_rows(self) -> list[dict[str, Any]] | None:
        """The next finished batch's records; None once every video is done."""
        for batch in self._batches:
            if batch.num_rows:
                return batch.to_pylist()
        return None


def _rows(ds: Any, stall_timeout_s: float) -> Iterator[dict[str, Any]]:
    """The dataset's rows as they finish, from a runner actor; JobStalledError when none
    comes for `stall_timeout_s`. Closing the iterator stops the job."""
    ray = require_ray()
    from ray.exceptions import GetTimeoutError, RayError, RayTaskError
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    # On the driver's node (its loss ends the job anyway), 0 CPUs (the executor mostly
    # waits), never restarted: a restart would run the whole job again; a re-run resumes.
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    runner = ray.remote(num_cpus=0, max_restarts=0, scheduling_strategy=here)(_JobRunner).remote(ds)
    try:
        pending = runner.next_rows.remote()
        while True:
            try:
                rows = ray.get(pending, timeout=stall_timeout_s)
            except GetTimeoutError:
                raise JobStalledError(
                    f"the Ray job produced no result for {stall_timeout_s:g} s: check `ray status` (do the "
                    "inference actors and decode tasks fit the cluster's CPUs?)") from None
            except RayError as e:
                cause = e.cause if isinstance(e, RayTaskError) and e.cause is not None else e
                if isinstance(cause, SfcError):
                    raise cause from None  # the SDK's own typed error, as a local job raises it
                first_line = (str(cause).strip().splitlines() or [""])[0]
                raise DistributedJobError(f"the Ray job failed: {type(cause).__name__}: {first_line}") from e
            if rows is None:
                return
            pending = runner.next_rows.remote()  # the next batch comes while these are written
            yield from rows
    finally:
        ray.kill(runner)
