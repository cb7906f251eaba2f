"""The SDK's model format: a directory that `Recognizer`, `train` and `convert` all take.

    my_model/
      config.json        ModelConfig (architecture, labels, preprocessing) + format tag
      model.safetensors  backbone.* and sfc.* tensors
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import save

from ..config import CONFIG_FILE, MODEL_FORMAT, MODEL_FORMAT_VERSION, WEIGHTS_FILE, ModelConfig, read_model_config
from ..errors import CheckpointError, SfcError
from ..fileio import write_atomic
from .network import SFCModel
from .weights import load_weights


def save_model(model: SFCModel, config: ModelConfig, directory: str | Path, training: dict | None = None) -> Path:
    """Write `config.json` + `model.safetensors` into `directory` (created if needed).
    `training` (how the model was made) is stored in the config for the record."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION, **model.resolve(config).to_dict()}
    if training:
        meta["training"] = training
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    write_atomic(directory / WEIGHTS_FILE, save(state))
    write_atomic(directory / CONFIG_FILE, (json.dumps(meta, indent=2) + "\n").encode())
    return directory


def load_model(directory: str | Path) -> tuple[SFCModel, ModelConfig]:
    """Rebuild an SFCModel from a model directory written by `save_model`."""
    config = read_model_config(directory)
    try:
        model = SFCModel.from_config(config)
    except SfcError as e:  # an unknown backbone or split: say which file asked for it
        raise CheckpointError(f"{Path(directory) / CONFIG_FILE}: {e}") from None
    load_weights(model, Path(directory) / WEIGHTS_FILE)
    return model.eval(), model.resolve(config)
