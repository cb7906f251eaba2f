"""The PyTorch side: backbones split into head and tail, the SFC module, weights and
model directories. Everything here needs torch (the `torch` extra); running an exported
bundle needs none of it.
"""

try:
    import torch  # noqa: F401
except ImportError:
    from ..errors import MissingExtraError
    from ..formats import TORCH_EXTRA, extra_hint

    raise MissingExtraError(f"models, training and converting need PyTorch: {extra_hint(TORCH_EXTRA)}") from None

from .backbones import (
    HEAD_CHUNK_STEPS,
    BackboneEntry,
    StageInfo,
    VideoBackbone,
    backbone_entry,
    create_backbone,
    list_backbones,
    register_backbone,
)
from .checkpoint import load_checkpoint, model_from_checkpoint, pretrained_start
from .directory import load_model, save_model
from .network import SFCModel, build_model, resplit
from .sfc import SelectiveFeatureCompression
from .weights import check_fits, load_weights, read_state_dict, state_hash

__all__ = [
    "HEAD_CHUNK_STEPS", "BackboneEntry", "SFCModel", "SelectiveFeatureCompression", "StageInfo", "VideoBackbone",
    "backbone_entry", "build_model", "check_fits", "create_backbone", "list_backbones", "load_checkpoint",
    "load_model", "load_weights", "model_from_checkpoint", "pretrained_start", "read_state_dict",
    "register_backbone", "resplit", "save_model", "state_hash",
]
