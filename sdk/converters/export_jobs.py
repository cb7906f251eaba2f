"""Running a bundle's exports (its main input and each short one), in worker processes
where one export is slow.

A LiteRT export takes about 37 s here per graph whatever the input length (litert-torch's
lowering, not the model's size), and a bundle holds four graphs; they are independent,
so converters that say so (`Converter.export_in_processes`) run them in spawned worker
processes, one graph each, as many at once as there are cores: 150 s -> about 85 s on
this 2-core machine. Each worker loads the model from its directory itself.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ..formats import get_format
from ..model import SFCModel, load_model
from .base import Converter, ExportRequest, ExportResult, converter_for
from .exportable import ExportableSFC


def run_exports(converter: Converter, net: SFCModel, model_dir: Path,
                jobs: list[tuple[ExportRequest, Path]]) -> list[ExportResult]:
    """`converter.export` for each (request, output folder), results in job order."""
    workers = min(len(jobs), os.cpu_count() or 1)
    if not converter.export_in_processes or workers < 2:
        return [converter.export(ExportableSFC(net, request.shape.ratio), request, out) for request, out in jobs]
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(_export_job, converter.format.name, str(model_dir), request, str(out))
                   for request, out in jobs]
        return [f.result() for f in futures]  # a worker's ExportError is raised here, as itself


def _export_job(fmt: str, model_dir: str, request: ExportRequest, out: str) -> ExportResult:
    net, _ = load_model(Path(model_dir))
    return converter_for(get_format(fmt)).export(ExportableSFC(net, request.shape.ratio), request, Path(out))
