"""Trained SFC modules that ship with the SDK (`catalogue.ShippedModule`).

A module file is small (the module alone, not the backbone, which stays pulled from its
source) and self-describing: the safetensors header holds the split point the module was
trained at, its `SFCSettings` and a summary of how it was trained. `write_module` makes one
from a trained model directory; `pull` reads it onto the freshly read backbone.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

from ..catalogue import ShippedModule
from ..config import SFCSettings
from ..errors import CheckpointError
from ..fileio import sha256_file, write_atomic
from .network import SFCModel
from .weights import check_fits


def read_module(shipped: ShippedModule) -> tuple[str, SFCSettings, dict[str, Any], dict[str, torch.Tensor]]:
    """(split, settings, training record, tensors) of a shipped module, its sha256 checked."""
    path = shipped.path
    if not path.is_file() or sha256_file(path) != shipped.sha256:
        raise CheckpointError(f"{path}: the shipped SFC module is missing or not the catalogued file "
                              "(reinstall sfc-sdk)")
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        return meta["split"], SFCSettings(**json.loads(meta["sfc"])), json.loads(meta["training"]), tensors
    except (SafetensorError, KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: not a shipped SFC module ({e})") from None


def load_module(model: SFCModel, tensors: dict[str, torch.Tensor], what: str) -> SFCModel:
    """Load a shipped module's tensors into `model.sfc`, strictly."""
    check_fits(model.sfc, tensors, what)
    model.sfc.load_state_dict(tensors)
    return model


def write_module(model: SFCModel, split: str, settings: SFCSettings, training: dict[str, Any],
                 out: str | Path) -> str:
    """Write `model`'s SFC module as a shipped module file; return its sha256."""
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.sfc.state_dict().items()}
    meta = {"split": split, "sfc": json.dumps(asdict(settings)), "training": json.dumps(training)}
    write_atomic(Path(out), save(tensors, metadata=meta))
    return sha256_file(out)
