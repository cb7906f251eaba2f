"""`sfc-sdk train backbone`: train a backbone on short clips of a folder-per-class dataset,
from scratch or fine-tuned from pretrained weights (`init`: a checkpoint or a model
directory; its classifier is replaced when the classes differ, its input preprocessing
kept, and `freeze` keeps its first stages as they are).

The output is a model directory `Recognizer` loads: the trained backbone plus an
untrained SFC module (uniform subsampling) for `train sfc` to fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..config import InputSpec, ModelConfig, SFCSettings
from ..errors import ConfigError
from ..model import SFCModel, build_model, pretrained_start, save_model, state_hash
from ..runtimes.torch_runtime import select_torch_device
from ..video.files import VideoItem, scan_folder
from ..video.sampling import clip_indices
from ..video.transforms import center_crop, normalize
from .data import augment, decode_all, random_clip_indices, sfc_clip_indices
from .loop import TrainSettings, fit


def train_backbone(data_dir: str | Path, arch: str | None, out_dir: str | Path, *,
                   settings: TrainSettings | None = None,
                   val: Sequence[str] = (), exclude: Sequence[str] = (), stride_range: tuple[float, float] = (1.0, 3.0),
                   scale_range: tuple[float, float] = (0.8, 1.0),
                   sfc: SFCSettings | None = None, resume: bool = False, progress: bool = True,
                   device: str = "cpu", label_smoothing: float = 0.1, input_spec: InputSpec | None = None,
                   init: str | Path | None = None, freeze: str | None = None, sfc_clips: float = 0.0) -> Path:
    """Train `arch` on `data_dir`; videos matching the `val` globs are held out for the
    per-epoch score, those matching `exclude` are not used at all. `init`: start from a
    checkpoint (of `arch`'s layout) or a model directory instead of random weights;
    `freeze`: keep the stages up to and including this one unchanged (weights and
    BatchNorm statistics); `sfc_clips`: the share of training clips sampled as the tail
    meets them in an SFC pass (`sfc_clip_indices`). Returns `out_dir`."""
    out_dir = Path(out_dir)
    settings = settings or TrainSettings()
    sfc = sfc or SFCSettings()
    classes, items = scan_folder(data_dir, exclude=exclude)
    _, val_items = scan_folder(data_dir, include=val, exclude=exclude) if val else ([], [])
    val_paths = {i.path for i in val_items}
    train_items = [i for i in items if i.path not in val_paths]

    torch.manual_seed(settings.seed)
    model, config = _start_model(data_dir, arch, classes, sfc, input_spec, init)
    dev = select_torch_device(device)
    net = model.backbone.to(dev, memory_format=torch.channels_last_3d)  # 1.5x faster Conv3d on CPU here
    frozen = [net.get_submodule(p) for s in (net.stages_through(freeze) if freeze else ()) for p in s.paths]
    for module in frozen:
        module.requires_grad_(False)
    frozen_before = [state_hash(m) for m in frozen]
    spec = config.input_spec
    train_frames = decode_all(train_items, spec.resize_size, progress)
    val_frames = decode_all(val_items, spec.resize_size, progress)
    labels = torch.tensor([i.label for i in train_items], device=dev)

    def step_loss(step: int, rng: np.random.Generator) -> torch.Tensor:
        net.train()
        for module in frozen:  # BatchNorm statistics of frozen stages stay as they were
            module.eval()
        pick = rng.integers(0, len(train_items), settings.batch_size)
        clips = [_training_clip(train_frames[i], spec, net.head_temporal_stride, rng, sfc_clips, stride_range,
                                scale_range) for i in pick]
        return F.cross_entropy(net(_to_input(clips, spec, dev)), labels[pick], label_smoothing=label_smoothing)

    def validate() -> dict[str, float]:
        return _val_top1(net, val_items, val_frames, spec, dev)

    history = fit(net, step_loss, validate, settings, out_dir, resume=resume, desc=f"train {config.backbone}",
                  progress=progress)
    net.eval().cpu()
    if [state_hash(m) for m in frozen] != frozen_before:  # cannot happen unless the code above changes
        raise RuntimeError("a frozen stage changed during training")
    training = {"stage": "backbone", "init": str(init) if init else None, "freeze": freeze,
                "frozen_sha256": frozen_before, "data": str(data_dir), "train_videos": len(train_items),
                "val_videos": len(val_items), "exclude": list(exclude), "val": list(val),
                "settings": asdict(settings), "stride_range": list(stride_range), "scale_range": list(scale_range),
                "sfc_clips": sfc_clips,
                "history": history}
    return save_model(model, config, out_dir, training=training)


def _start_model(data_dir: str | Path, arch: str | None, classes: list[str], sfc: SFCSettings,
                 input_spec: InputSpec | None, init: str | Path | None) -> tuple[SFCModel, ModelConfig]:
    """The model training starts from: `arch` with random weights, or pretrained `init`;
    named after the backbone and the dataset folder."""
    if init is None:
        if not arch:
            raise ConfigError("give the backbone to train (arch), or pretrained weights to start from (init)")
        model, config = build_model(ModelConfig(backbone=arch, labels=tuple(classes), sfc=sfc, input=input_spec))
    else:
        model, config = pretrained_start(init, classes, arch=arch, input_spec=input_spec)
    return model, replace(config, name=f"{config.backbone}-{Path(data_dir).name}")


def _training_clip(frames: np.ndarray, spec: InputSpec, group: int, rng: np.random.Generator, sfc_clips: float,
                   stride_range: tuple[float, float], scale_range: tuple[float, float]) -> np.ndarray:
    """One augmented training clip of a decoded video: with probability `sfc_clips` laid
    out as the tail meets it in an SFC pass (groups of `group` frames), else an ordinary
    clip at a random frame step."""
    if rng.random() < sfc_clips:
        idx = sfc_clip_indices(len(frames), spec.clip_len, group, rng)
    else:
        idx = random_clip_indices(len(frames), spec.clip_len, rng, stride_range)
    return augment(frames[idx], spec.crop_size, rng, scale_range)


def _to_input(clips: list[np.ndarray], spec: InputSpec, dev: torch.device) -> torch.Tensor:
    """A batch of clips (uint8 frames) as the network's normalised input on `dev`."""
    x = torch.from_numpy(np.stack([normalize(c, spec.mean, spec.std) for c in clips]))
    return x.to(dev).contiguous(memory_format=torch.channels_last_3d)


@torch.no_grad()
def _val_top1(net: torch.nn.Module, items: Sequence[VideoItem], frames: Sequence[np.ndarray], spec: InputSpec,
              dev: torch.device) -> dict[str, float]:
    """Top-1 of the centre clip (dense 1x1) on the held-out videos."""
    if not items:
        return {}
    net.eval()
    hits = 0
    for item, video in zip(items, frames, strict=True):
        idx = clip_indices(len(video), 1, spec.clip_len, spec.frame_stride)[0]
        hits += int(net(_to_input([center_crop(video[idx], spec.crop_size)], spec, dev)).argmax()) == item.label
    return {"val_top1": hits / len(items)}
