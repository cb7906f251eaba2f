"""sfc-sdk: fast video action recognition with Selective Feature Compression.

    from sfc_sdk import Recognizer
    pred = Recognizer("model_dir").predict("video.mp4")
    print(pred.label, pred.score, pred.kept_times)

Names are imported when first used (PEP 562), so `import sfc_sdk` is cheap and a
process that only runs exported bundles never imports torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .defaults import __version__

# public name -> module that defines it
_EXPORTS = {
    "Recognizer": "sfc_sdk.inference.recognizer",
    "Prediction": "sfc_sdk.inference.results",
    "LabelScore": "sfc_sdk.inference.results",
    "KeptMoment": "sfc_sdk.inference.results",
    "WindowResult": "sfc_sdk.inference.stream",
    "SourceOptions": "sfc_sdk.video.live",
    "SfcError": "sfc_sdk.errors",
    "InputSpec": "sfc_sdk.config",
    "ModelConfig": "sfc_sdk.config",
    "SFCSettings": "sfc_sdk.config",
    "convert": "sfc_sdk.devices.convert",
    # the PyTorch model layer (needs the `torch` extra)
    "SFCModel": "sfc_sdk.model.network",
    "SelectiveFeatureCompression": "sfc_sdk.model.sfc",
    "VideoBackbone": "sfc_sdk.model.backbones",
    "create_backbone": "sfc_sdk.model.backbones",
    "list_backbones": "sfc_sdk.model.backbones",
    "register_backbone": "sfc_sdk.model.backbones",
    "load_model": "sfc_sdk.model.directory",
    "save_model": "sfc_sdk.model.directory",
    "load_weights": "sfc_sdk.model.weights",
    "load_checkpoint": "sfc_sdk.model.checkpoint",
    "read_state_dict": "sfc_sdk.model.weights",
}

__all__ = [
    "InputSpec", "KeptMoment", "LabelScore", "ModelConfig", "Prediction", "Recognizer", "SFCModel", "SFCSettings",
    "SelectiveFeatureCompression", "SfcError", "SourceOptions", "VideoBackbone", "WindowResult", "__version__",
    "convert", "create_backbone", "list_backbones", "load_checkpoint", "load_model", "load_weights", "read_state_dict",
    "register_backbone", "save_model",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sfc_sdk' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names resolve lazily above
    from .config import InputSpec, ModelConfig, SFCSettings
    from .devices.convert import convert
    from .errors import SfcError
    from .inference.recognizer import Recognizer
    from .inference.results import KeptMoment, LabelScore, Prediction
    from .inference.stream import WindowResult
    from .model.backbones import VideoBackbone, create_backbone, list_backbones, register_backbone
    from .model.checkpoint import load_checkpoint
    from .model.directory import load_model, save_model
    from .model.network import SFCModel
    from .model.sfc import SelectiveFeatureCompression
    from .model.weights import load_weights, read_state_dict
    from .video.live import SourceOptions
