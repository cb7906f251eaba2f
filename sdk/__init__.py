"""sfc-sdk: fast video action recognition with Selective Feature Compression.

    from sfc_sdk import Recognizer
    pred = Recognizer("model_dir").predict("video.mp4")
    print(pred.label, pred.score, pred.kept_times)
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sfc-sdk")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+local"

from .backbones import InputSpec, VideoBackbone, create_backbone, list_backbones, register_backbone
from .checkpoint import load_model, load_weights, read_state_dict, save_model
from .errors import SfcError
from .live_source import SourceOptions
from .model import ModelConfig, SFCModel, SFCSettings
from .recognizer import Recognizer
from .results import KeptMoment, LabelScore, Prediction
from .sfc import SelectiveFeatureCompression
from .stream import WindowResult

__all__ = [
    "InputSpec", "KeptMoment", "LabelScore", "ModelConfig", "Prediction", "Recognizer", "SFCModel",
    "SFCSettings", "SelectiveFeatureCompression", "SfcError", "SourceOptions", "VideoBackbone", "WindowResult",
    "__version__",
    "create_backbone", "list_backbones", "load_model", "load_weights", "read_state_dict",
    "register_backbone", "save_model",
]
