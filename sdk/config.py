"""Plain configuration records: what a model is, how its input is prepared, and the
JSON files that carry them (a model directory's `config.json`, a bundle's manifest,
device profiles).

No torch here. A process that only runs exported bundles reads these and nothing of
the model layer; defaults that belong to a backbone's code (its split point and input
preprocessing) are filled in by the model layer (`ModelConfig.resolved`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import CheckpointError, ConfigError, SfcError

# A model directory: config.json (this module's ModelConfig) + model.safetensors.
MODEL_FORMAT = "sfc-sdk-model"
MODEL_FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


@dataclass(frozen=True)
class InputSpec:
    """How frames must be prepared for a backbone (what it was trained on)."""

    clip_len: int  # frames per clip for dense sampling
    frame_stride: int  # source frames between two frames of a clip
    crop_size: int  # square crop fed to the network
    resize_size: int  # short side before the centre crop
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def __post_init__(self) -> None:
        # A config.json or manifest is hand-editable: a wrong count here would otherwise
        # surface as a numpy broadcasting traceback at the first video.
        for name in ("mean", "std"):
            values = getattr(self, name)
            if (not isinstance(values, (tuple, list)) or len(values) != 3
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)):
                raise ConfigError(f"input {name} must be three numbers (R, G, B), got {values!r}")
        if not all(v > 0 for v in self.std):
            raise ConfigError(f"input std must be positive, got {self.std!r}")
        sizes = {"clip_len": self.clip_len, "frame_stride": self.frame_stride, "crop_size": self.crop_size,
                 "resize_size": self.resize_size}
        for name, value in sizes.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"input {name} must be a positive integer, got {value!r}")
        if self.resize_size < self.crop_size:
            raise ConfigError(f"input resize_size ({self.resize_size}) must be at least crop_size "
                              f"({self.crop_size})")


SFC_GATES = ("free", "bounded")
# The API's vocabularies, here (the lowest layer, no heavy imports) so the CLI builds its
# choices from them: a value added here reaches `predict`, `train` and their --help.
MODES = ("sfc", "dense")  # predict: one SFC pass, or dense views
SHORT_VIDEO = ("adapt", "repeat")  # a video shorter than the SFC input: a shorter graph, or frames repeated
# "exact": every sampled frame is the planned one. "reference": the decoder skips
# non-reference frames (B-frames nothing is predicted from) and the nearest decoded frame
# stands in, under half a sampling interval away (benchmarks/decode.py measures both).
DECODE_MODES = ("exact", "reference")
# Live windows: reuse the head features two windows share ("auto": time both ways, keep the faster).
REUSE_MODES = ("auto", "on", "off")


def reuse_mode(reuse: str | bool) -> str:
    """`reuse` as one of REUSE_MODES; True / False (the spelling before them) read as on / off."""
    if isinstance(reuse, bool):
        return "on" if reuse else "off"
    if reuse not in REUSE_MODES:
        raise ConfigError(f"reuse must be one of {', '.join(REUSE_MODES)}, got {reuse!r}")
    return reuse


DISTILL_MODES = ("correct", "all", "none")  # train sfc: which videos the teacher's answer is a target on
# How kept steps are scored: a trained score layer, or how far each step's head features are
# from the video's median step (no training at all; the baseline a trained module must beat).
SFC_SELECTORS = ("learned", "novelty")
SFC_BEFORE_FIELDS = {"attention": True, "gate": "free"}  # what configs without these keys were trained with


@dataclass(frozen=True)
class SFCSettings:
    """SFC module shape and how it is run by default."""

    frames: int = 64  # T_in: frames sampled uniformly over the whole video
    ratio: int = 4  # default compression ratio (T_out = T_in / ratio)
    dim: int = 64  # width of the abstraction layer and attention
    prior: float = 1.0  # score bonus for uniformly spaced positions (see model/sfc.py)
    attention: bool = True  # False: selection alone (the kept steps' own features go to the tail)
    gate: str = "free"  # "bounded": per-channel gate clamped to [0, 1], a blend of in-distribution features
    selector: str = "learned"  # "novelty": steps scored by distance from the median step, untrained

    def __post_init__(self) -> None:
        if self.gate not in SFC_GATES:
            raise ConfigError(f"SFC gate must be one of {', '.join(SFC_GATES)}, got {self.gate!r}")
        if self.selector not in SFC_SELECTORS:
            raise ConfigError(f"SFC selector must be one of {', '.join(SFC_SELECTORS)}, got {self.selector!r}")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture, labels and preprocessing of a model; JSON-serialisable.

    `split` and `input` may be left open when a config is written by hand: the model layer
    fills them with the backbone's defaults (`build_model`, `SFCModel.resolve`; a Recognizer
    does it through its runtime), and every config it saves or exports has them set. The
    backbone name is checked when the network is built (this module knows no backbones)."""

    backbone: str
    labels: tuple[str, ...]
    split: str = ""  # empty: the backbone's default split point
    sfc: SFCSettings = field(default_factory=SFCSettings)
    input: InputSpec | None = None  # None: the backbone's registered preprocessing
    name: str = ""
    variant: dict[str, Any] = field(default_factory=dict)  # backbone builder arguments (width, groups); {}: default

    def __post_init__(self) -> None:
        if not isinstance(self.backbone, str) or not self.backbone:
            raise ConfigError("backbone must be a registered backbone name")
        if not self.labels or not all(isinstance(x, str) for x in self.labels):
            raise ConfigError("labels must be a non-empty list of strings")
        if self.sfc.frames < 1 or self.sfc.ratio < 1:
            raise ConfigError("sfc.frames and sfc.ratio must be positive")

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def input_spec(self) -> InputSpec:
        if self.input is None:
            raise ConfigError(f"this {self.backbone} config names no input preprocessing: build the model from "
                              "it (sfc_sdk.model.build_model returns the config with the backbone's own), "
                              "or pass input=")
        return self.input

    def resolved(self, split: str, input_spec: InputSpec, variant: dict[str, Any] | None = None) -> ModelConfig:
        """This config with a backbone's defaults where it leaves split, input or variant open."""
        return replace(self, split=self.split or split, input=self.input or input_spec,
                       variant=self.variant or dict(variant or {}))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["labels"] = list(self.labels)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        """Build from parsed JSON, with a clear error for missing or ill-typed fields."""
        try:
            # Files written before a field existed meant what the module did then.
            sfc = SFCSettings(**{**SFC_BEFORE_FIELDS, **_known(SFCSettings, d.get("sfc", {}))})
            spec = d.get("input")
            if spec is not None:
                spec = InputSpec(**{k: tuple(v) if isinstance(v, list) else v
                                    for k, v in _known(InputSpec, spec).items()})
            if not isinstance(d["labels"], list):
                raise TypeError(f"labels must be a list of class names, got {type(d['labels']).__name__}")
            variant = d.get("variant", {})
            if not isinstance(variant, dict) or not all(isinstance(k, str) for k in variant):
                raise TypeError(f"variant must be an object of builder arguments, got {variant!r}")
            return cls(backbone=d["backbone"], labels=tuple(d["labels"]), split=d.get("split", ""),
                       sfc=sfc, input=spec, name=d.get("name", ""), variant=variant)
        except (KeyError, TypeError, AttributeError) as e:
            raise ConfigError(f"malformed model config: {type(e).__name__}: {e}") from None


def _known(cls: type, d: Any) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise TypeError(f"{cls.__name__} must be an object, got {type(d).__name__}")
    names = {f.name for f in fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise TypeError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
    return d


def read_json(path: Path, error: type[SfcError], missing: str) -> Any:
    """Parsed JSON of `path`; `error(missing)` if it does not exist, `error` naming the
    file if it is not valid JSON."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise error(missing) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise error(f"{path}: not valid JSON ({e})") from None


def read_model_config(directory: str | Path) -> ModelConfig:
    """The ModelConfig of a model directory, checked before any weights are read."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"model directory not found: {directory}")
    path = directory / CONFIG_FILE
    meta = read_json(path, CheckpointError, f"{directory}: no {CONFIG_FILE}; not an sfc-sdk model directory")
    if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
        raise CheckpointError(f"{path}: not an sfc-sdk model config (format tag missing)")
    if meta.get("format_version") != MODEL_FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: model format version {meta.get('format_version')!r} is not supported "
            f"(this sfc-sdk reads version {MODEL_FORMAT_VERSION})"
        )
    meta = {k: v for k, v in meta.items() if k not in ("format", "format_version", "training")}
    try:
        return ModelConfig.from_dict(meta)
    except SfcError as e:
        raise CheckpointError(f"{path}: {e}") from None


def read_labels(path: str | Path) -> list[str]:
    """Class names in index order from a text file: one name per line, or `<index> <name>`
    per line (the classInd.txt of UCF-101 and Jester), sorted by index."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"labels file not found: {path}")
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not lines:
        raise ConfigError(f"{path}: no labels in it")
    parts = [line.split(maxsplit=1) for line in lines]
    if all(len(p) == 2 and p[0].isdigit() for p in parts):
        return [name for _, name in sorted(parts, key=lambda p: int(p[0]))]
    return lines
