"""`sfc-sdk train sfc`: fit only the SFC module of a model; the backbone stays frozen.

Loss: cross-entropy plus distillation from the dense 30-view prediction of the same
backbone, with a random ratio per batch so one module serves every ratio. The
backbone's hash before and after is stored with the model, as proof it is unchanged.

Because the backbone is frozen (and in eval mode), head features do not depend on
training: they are computed once per video for a few augmented samplings ("variants"),
and each step only runs the SFC module and the tail.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..config import InputSpec, SFCSettings
from ..errors import ConfigError
from ..inference import Recognizer
from ..model import SFCModel, load_model, resplit, save_model, state_hash
from ..video.decode import sample_frames
from ..video.files import VideoItem, scan_folder
from ..video.longvideo import make_long_video
from ..video.sampling import uniform_indices
from ..video.transforms import center_crop, normalize
from .data import augment, jittered_uniform_indices
from .loop import TrainSettings, fit

DISTILL_MODES = ("correct", "all", "none")


@dataclass(frozen=True)
class SFCTrainOptions:
    ratios: tuple[int, ...] | None = None  # None: those of 2, 4, 8 the network runs at its input length
    distill: str = "correct"  # teacher targets on: videos it gets right | all | none
    distill_weight: float = 1.0
    score_weight: float = 1.0  # the scores' loss: match where the frozen tail classifies best
    # The window informativeness is measured on: the compressed length at this ratio;
    # None: at the ratio drawn for the batch (the window the tail will actually see).
    score_window: int | None = 4
    score_temperature: float = 0.5
    teacher_views: str = "10x3"
    long_videos: bool = True  # also train on long versions of the training clips
    variants: int = 4  # cached augmented samplings per video
    seed_long: int = 1000  # seed of the long training videos (test videos use another)

    def __post_init__(self) -> None:
        if self.distill not in DISTILL_MODES:
            raise ConfigError(f"distill must be one of {', '.join(DISTILL_MODES)}, got {self.distill!r}")
        if (self.ratios is not None and (not self.ratios or min(self.ratios) < 1)) or self.variants < 1:
            raise ConfigError("ratios must be positive and variants at least 1")


@dataclass
class _Video:
    path: Path
    label: int
    long: bool


def _videos(items: Sequence[VideoItem], long_dir: Path | None, seed: int) -> list[_Video]:
    out = [_Video(i.path, i.label, False) for i in items]
    if long_dir is not None:
        out += [_Video(make_long_video(i.path, long_dir, seed=seed).path, i.label, True) for i in items]
    return out


@torch.no_grad()
def head_features(model: SFCModel, spec: InputSpec, path: Path, frames: int, variants: int, seed: int,
                  index: int) -> list[torch.Tensor]:
    """Head features (fp16) of `variants` samplings of one video. Variant 0 is the plain
    inference sampling (uniform, centre crop); the others are jittered and augmented."""

    def plans(n: int) -> list[np.ndarray]:
        rngs = [np.random.default_rng([seed, index, j]) for j in range(1, variants)]
        return [np.asarray(uniform_indices(n, frames))] + [jittered_uniform_indices(n, frames, r) for r in rngs]

    clip = sample_frames(path, lambda n: np.concatenate(plans(n)).tolist(), spec.resize_size)
    feats = []
    for j in range(variants):
        chunk = clip.frames[j * frames:(j + 1) * frames]
        if j == 0:
            chunk = center_crop(chunk, spec.crop_size)
        else:
            chunk = augment(chunk, spec.crop_size, np.random.default_rng([seed, index, j, 1]))
        x = torch.from_numpy(normalize(chunk, spec.mean, spec.std))[None]
        feats.append(model.backbone.forward_head(x)[0].half())
    return feats


@torch.no_grad()
def informativeness(backbone: torch.nn.Module, feats: torch.Tensor, label: int, window: int,
                    temperature: float) -> torch.Tensor:
    """Where does the frozen tail classify this video best? (T,) target distribution.

    The tail runs on every window of K = T / window consecutive head steps; each
    step gets the mean log-probability of the true class over the windows that hold
    it, and a softmax turns those into the distribution the scores learn to match.
    TopK itself passes no gradient to the scores, and the two cheaper signals tried
    first went wrong on Weizmann: a straight-through softmax learned the borders of
    the video, and attention-based multiple-instance learning learned the actor's
    static "ghost" in the empty frames of long videos (see the README).
    """
    t = feats.shape[1]
    k = max(1, t // window)
    windows = torch.stack([feats[:, s:s + k] for s in range(t - k + 1)]).float()
    logp = F.log_softmax(backbone.forward_tail(windows), dim=1)[:, label]  # (windows,)
    cover = torch.zeros(t)
    hits = torch.zeros(t)
    for s, value in enumerate(logp.tolist()):
        cover[s:s + k] += value
        hits[s:s + k] += 1
    return F.softmax(cover / hits / temperature, dim=0)


def runnable_ratios(model: SFCModel, frames: int, candidates: Sequence[int] = (2, 4, 8)) -> tuple[int, ...]:
    """The candidate ratios the network runs at `frames` input frames (a tail may need a
    minimum or a multiple of time steps, e.g. 3D ShuffleNet's stride-2 stages)."""
    out = []
    for ratio in candidates:
        try:
            model.kept_steps(frames, ratio)
        except ConfigError:
            continue
        out.append(ratio)
    if not out:
        raise ConfigError(f"none of the ratios {list(candidates)} runs on this network at {frames} input frames")
    return tuple(out)


def train_sfc(model_dir: str | Path, data_dir: str | Path, out_dir: str | Path, *,
              settings: TrainSettings | None = None, options: SFCTrainOptions | None = None,
              val: Sequence[str] = (), exclude: Sequence[str] = (), resume: bool = False,
              progress: bool = True, split: str | None = None, module: SFCSettings | None = None) -> Path:
    """Train the SFC module of the model in `model_dir` on `data_dir`; write a model
    directory to `out_dir` and return it. `split`: end the head after this stage
    instead of the model's; `module`: a fresh SFC module of this shape instead of the
    model's own (both start it untrained)."""
    from tqdm import tqdm

    settings = settings or TrainSettings(epochs=6, steps_per_epoch=100, lr=1e-3)
    options = options or SFCTrainOptions()
    out_dir = Path(out_dir)
    model, config = load_model(model_dir)
    if split and split != model.backbone.split:
        model, config = resplit(model, config, split)
    if module is not None:
        model, config = SFCModel.around(model.backbone, module), replace(config, sfc=module)
    spec = config.input_spec
    if options.ratios is None:
        options = replace(options, ratios=runnable_ratios(model, config.sfc.frames))
    for ratio in options.ratios:  # every ratio drawn in training must run on this network
        model.kept_steps(config.sfc.frames, ratio)
    classes, items = scan_folder(data_dir, exclude=exclude)
    if tuple(classes) != config.labels:
        raise ConfigError(f"dataset classes {classes} differ from the model's labels {list(config.labels)}")
    val_items = scan_folder(data_dir, include=val, exclude=exclude)[1] if val else []
    val_paths = {i.path for i in val_items}
    train_items = [i for i in items if i.path not in val_paths]

    backbone = model.backbone.eval()
    for p in backbone.parameters():
        p.requires_grad_(False)
    before = state_hash(backbone)
    long_dir = out_dir / "long_videos" if options.long_videos else None
    train_videos = _videos(train_items, long_dir, options.seed_long)
    val_videos = _videos(val_items, long_dir, options.seed_long + 1)

    # Teacher: the same backbone's dense prediction, once per training video.
    teacher_rec = Recognizer.from_model(model, config, device="cpu")
    teacher = []
    for v in tqdm(train_videos, desc=f"teacher {options.teacher_views}", disable=not progress, leave=False):
        pred = teacher_rec.predict(v.path, top_k=len(classes), mode="dense", views=options.teacher_views)
        probs = np.zeros(len(classes), np.float32)
        probs[[t.index for t in pred.top]] = [t.score for t in pred.top]
        teacher.append(probs)
    teacher_probs = torch.from_numpy(np.stack(teacher))
    labels = torch.tensor([v.label for v in train_videos])
    teacher_right = teacher_probs.argmax(1) == labels
    if options.distill == "correct":
        distill_mask = teacher_right.float()
    else:
        distill_mask = torch.full((len(train_videos),), float(options.distill == "all"))

    frames = config.sfc.frames
    cache = [head_features(model, spec, v.path, frames, options.variants, settings.seed, i)
             for i, v in enumerate(tqdm(train_videos, desc="head features", disable=not progress, leave=False))]
    val_cache = [head_features(model, spec, v.path, frames, 1, settings.seed, i)[0]
                 for i, v in enumerate(tqdm(val_videos, desc="val features", disable=not progress, leave=False))]

    windows = sorted(set(options.ratios)) if options.score_window is None else [options.score_window]
    targets = {w: [[informativeness(backbone, f, int(v.label), w, options.score_temperature) for f in feats]
                   for v, feats in zip(train_videos, cache, strict=True)]
               for w in tqdm(windows, desc="informativeness", disable=not progress, leave=False)}

    def step_loss(step: int, rng: np.random.Generator) -> torch.Tensor:
        model.sfc.train()
        pick = rng.integers(0, len(train_videos), settings.batch_size)
        variant = rng.integers(0, options.variants, settings.batch_size)
        ratio = int(rng.choice(options.ratios))
        feats = torch.stack([cache[i][j] for i, j in zip(pick, variant, strict=True)]).float()
        compressed, _ = model.sfc(feats, ratio)
        logits = backbone.forward_tail(compressed)
        loss = F.cross_entropy(logits, labels[pick])
        _, score = model.sfc.scores(feats)  # learned part only: the prior stays a fixed preference
        window = ratio if options.score_window is None else options.score_window
        target = torch.stack([targets[window][i][j] for i, j in zip(pick, variant, strict=True)])
        loss = loss - options.score_weight * (target * F.log_softmax(score, dim=1)).sum(1).mean()
        mask = distill_mask[pick]
        if options.distill != "none" and mask.sum() > 0:
            kd = F.kl_div(F.log_softmax(logits, 1), teacher_probs[pick], reduction="none").sum(1)
            loss = loss + options.distill_weight * (kd * mask).sum() / mask.sum()
        return loss

    @torch.no_grad()
    def validate() -> dict[str, float]:
        if not val_videos:
            return {}
        model.sfc.eval()
        scores: dict[str, list[bool]] = {"val_trimmed": [], "val_long": []}
        for v, feats in zip(val_videos, val_cache, strict=True):
            compressed, _ = model.sfc(feats[None].float(), 4)
            hit = int(backbone.forward_tail(compressed).argmax()) == v.label
            scores["val_long" if v.long else "val_trimmed"].append(hit)
        return {f"{k}_top1_r4": float(np.mean(s)) for k, s in scores.items() if s}

    history = fit(model.sfc, step_loss, validate, settings, out_dir, resume=resume, desc="train sfc",
                  progress=progress)
    model.sfc.eval()
    after = state_hash(backbone)
    if after != before:  # cannot happen unless the code above is changed: fail loudly then
        raise RuntimeError("the backbone changed during SFC training")
    base_meta = json.loads((Path(model_dir) / "config.json").read_text()).get("training")
    training = {"stage": "sfc", "base_model": str(model_dir), "base_training": base_meta, "data": str(data_dir),
                "train_videos": len(train_videos), "val_videos": len(val_videos), "exclude": list(exclude),
                "val": list(val), "settings": asdict(settings), "options": asdict(options),
                "teacher_top1_train": float(teacher_right.float().mean()),
                "backbone_sha256_before": before, "backbone_sha256_after": after, "history": history}
    return save_model(model, config, out_dir, training=training)
