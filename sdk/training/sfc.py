"""`sfc-sdk train sfc`: fit only the SFC module of a model; the backbone stays frozen.

Loss: cross-entropy plus distillation from the dense 30-view prediction of the same
backbone, with a random ratio per batch so one module serves every ratio. Without labels
(`videos=`, a folder of any videos) the dense prediction is the only target: the module
learns to answer as 30 views do, and where the tail answers so best. The
backbone's hash before and after is stored with the model, as proof it is unchanged.

Because the backbone is frozen (and in eval mode), head features do not depend on
training: they are computed once per video for a few augmented samplings ("variants"),
and each step only runs the SFC module and the tail.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
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
from ..video.files import VideoItem, scan_folder, scan_videos
from ..video.longvideo import make_long_video
from ..video.sampling import uniform_indices
from ..video.transforms import center_crop, normalize
from .data import augment, jittered_uniform_indices
from .loop import TrainSettings, fit
from .teacher import dense_teacher_probs

DISTILL_MODES = ("correct", "all", "none")
WINDOW_BATCH_BYTES = 256 << 20
WINDOWS_PER_STEP = 4
SHORT_TRAINING = ("repeat", "adapt")


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
    # Short clips: "repeat" samples every video at the model's input length (frames spread
    # closer, or repeated); "adapt" samples each as `predict` does at each trained ratio
    # (the stride rule, SfcRecipe.plan: a shorter input at a lower ratio).
    short: str = "adapt"

    def __post_init__(self) -> None:
        if self.distill not in DISTILL_MODES:
            raise ConfigError(f"distill must be one of {', '.join(DISTILL_MODES)}, got {self.distill!r}")
        if self.short not in SHORT_TRAINING:
            raise ConfigError(f"short must be one of {', '.join(SHORT_TRAINING)}, got {self.short!r}")
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
def head_features(model: SFCModel, spec: InputSpec, path: Path, lengths_of: Callable[[int], Sequence[int]],
                  variants: int, seed: int, index: int) -> tuple[int, dict[int, list[torch.Tensor]]]:
    """The video's frame count and head features (fp16) of `variants` samplings of it at
    each input length `lengths_of(n)` names. Variant 0 is the plain inference sampling
    (uniform, centre crop); the others are jittered and augmented."""
    lengths: list[int] = []

    def seed_key(length: int) -> list[int]:
        return [] if length == lengths[-1] else [length]  # the longest keeps the seeds it always had

    def plans(n: int) -> list[np.ndarray]:
        lengths.extend(sorted(set(lengths_of(n))))
        out = []
        for length in lengths:
            rngs = [np.random.default_rng([seed, index, j, *seed_key(length)]) for j in range(1, variants)]
            out += [np.asarray(uniform_indices(n, length))] + [jittered_uniform_indices(n, length, r) for r in rngs]
        return out

    clip = sample_frames(path, lambda n: np.concatenate(plans(n)).tolist(), spec.resize_size)
    feats: dict[int, list[torch.Tensor]] = {}
    start = 0
    for length in lengths:
        for j in range(variants):
            chunk = clip.frames[start:start + length]
            start += length
            if j == 0:
                chunk = center_crop(chunk, spec.crop_size)
            else:
                chunk = augment(chunk, spec.crop_size, np.random.default_rng([seed, index, j, 1, *seed_key(length)]))
            x = torch.from_numpy(normalize(chunk, spec.mean, spec.std))[None]
            feats.setdefault(length, []).append(model.backbone.forward_head(x)[0].half())
    return clip.num_frames, feats


@torch.no_grad()
def informativeness(backbone: torch.nn.Module, feats: torch.Tensor, target: torch.Tensor, window: int,
                    temperature: float) -> torch.Tensor:
    """Where does the frozen tail classify this video best? (T,) target distribution.

    The tail runs on every window of K = T / window consecutive head steps; each
    step gets the mean log-probability of `target` (classes,) over the windows that hold
    it (the true class one-hot, or without labels the dense teacher's distribution), and a
    softmax turns those into the distribution the scores learn to match.
    TopK itself passes no gradient to the scores, and the two cheaper signals tried
    first went wrong on Weizmann: a straight-through softmax learned the borders of
    the video, and attention-based multiple-instance learning learned the actor's
    static "ghost" in the empty frames of long videos (see docs/benchmarks.md).
    """
    t = feats.shape[1]
    k = max(1, t // window)
    # A window starts every k // WINDOWS_PER_STEP steps (every step on the bundled model):
    # each step is still judged by about that many windows, and 256-frame I3D runs its tail
    # 13 times instead of 97 (40 s per clip and variant).
    stride = max(1, k // WINDOWS_PER_STEP)
    starts = sorted({*range(0, t - k + 1, stride), t - k})
    # Windows go to the tail in batches of at most WINDOW_BATCH_BYTES of features: all 97
    # windows of 256-frame I3D at once stacked 4.7 GB and peaked at 15 GB.
    per_batch = max(1, WINDOW_BATCH_BYTES // (feats[:, :k].numel() * 4))
    parts = []
    for first in range(0, len(starts), per_batch):
        windows = torch.stack([feats[:, s:s + k] for s in starts[first:first + per_batch]]).float()
        parts.append((F.log_softmax(backbone.forward_tail(windows), dim=1) * target).sum(1))
    logp = torch.cat(parts)  # (windows,)
    cover = torch.zeros(t)
    hits = torch.zeros(t)
    for s, value in zip(starts, logp.tolist(), strict=True):
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


def train_sfc(model_dir: str | Path, data_dir: str | Path | None, out_dir: str | Path, *,
              settings: TrainSettings | None = None, options: SFCTrainOptions | None = None,
              val: Sequence[str] = (), exclude: Sequence[str] = (), resume: bool = False,
              progress: bool = True, split: str | None = None, module: SFCSettings | None = None,
              videos: Sequence[str | Path] = ()) -> Path:
    """Train the SFC module of the model in `model_dir` on `data_dir` (a folder per class),
    or without labels on `videos` (files or folders of any videos; `data_dir` None); write
    a model directory to `out_dir` and return it. `split`: end the head after this stage
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
    labelled = data_dir is not None
    if labelled == bool(videos):
        raise ConfigError("train SFC on a folder per class (data_dir) or, without labels, on videos: one of the two")
    if labelled:
        classes, items = scan_folder(data_dir, exclude=exclude)
        if tuple(classes) != config.labels:
            raise ConfigError(f"dataset classes {classes} differ from the model's labels {list(config.labels)}")
        val_items = scan_folder(data_dir, include=val, exclude=exclude)[1] if val else []
    else:
        classes, items = list(config.labels), scan_videos(videos, exclude=exclude)
        val_items = scan_videos(videos, include=val, exclude=exclude) if val else []
    val_paths = {i.path for i in val_items}
    train_items = [i for i in items if i.path not in val_paths]
    if not train_items:
        raise ConfigError("every video matched --val: nothing is left to train on")

    backbone = model.backbone.eval()
    for p in backbone.parameters():
        p.requires_grad_(False)
    before = state_hash(backbone)
    long_dir = out_dir / "long_videos" if options.long_videos else None
    train_videos = _videos(train_items, long_dir, options.seed_long)
    val_videos = _videos(val_items, long_dir, options.seed_long + 1)

    # Teacher: the same backbone's dense prediction, once per training video (kept on disk).
    teacher_rec = Recognizer.from_model(model, config, device="cpu")
    if labelled:
        teacher_probs = torch.from_numpy(dense_teacher_probs(teacher_rec, [v.path for v in train_videos], before,
                                                             options.teacher_views, progress=progress))
        labels = torch.tensor([v.label for v in train_videos])
        targets_of = F.one_hot(labels, len(classes)).float()  # what the scores learn to find
        teacher_right = teacher_probs.argmax(1) == labels
        distill_mask = teacher_right.float() if options.distill == "correct" else \
            torch.full((len(train_videos),), float(options.distill == "all"))
    else:  # the teacher of a clip is also the target of its long version (the same action, amid other footage)
        originals = dense_teacher_probs(teacher_rec, [i.path for i in train_items], before, options.teacher_views,
                                        progress=progress)
        teacher_probs = torch.from_numpy(np.concatenate([originals] * (len(train_videos) // len(train_items))))
        targets_of, distill_mask = teacher_probs, torch.ones(len(train_videos))
        val_teacher = dense_teacher_probs(teacher_rec, [i.path for i in val_items], before, options.teacher_views,
                                          progress=progress).argmax(1) if val_items else np.zeros(0)

    # Each video's input length and the ratio it runs at, per trained ratio, as predict
    # samples it (`options.short`); validation at ratio 4.
    frames = config.sfc.frames
    recipe_ratios = {*options.ratios, 4} if val_videos else set(options.ratios)
    recipes = {r: teacher_rec.sfc_recipe(r, frames, options.short) for r in recipe_ratios}

    def run_at(n: int, ratio: int) -> tuple[int, int]:
        length = len(recipes[ratio].plan(n))
        return length, recipes[ratio].ratio_at(length)

    def lengths(ratios: Sequence[int]) -> Callable[[int], list[int]]:
        return lambda n: [run_at(n, r)[0] for r in ratios]

    def window(length: int, used: int) -> int:
        """The informativeness window as a ratio of this input's head steps: the steps the
        tail gets (None), else as many steps as `score_window` gives at the full length."""
        if options.score_window is None:
            return used
        steps = frames // teacher_rec.head_stride // options.score_window
        return max(1, length // teacher_rec.head_stride // steps)

    counts, cache = zip(*[head_features(model, spec, v.path, lengths(options.ratios), options.variants,
                                        settings.seed, i)
                          for i, v in enumerate(tqdm(train_videos, desc="head features", disable=not progress,
                                                     leave=False))], strict=True)
    runs = [{r: run_at(n, r) for r in options.ratios} for n in counts]
    val_cache = []
    for i, v in enumerate(tqdm(val_videos, desc="val features", disable=not progress, leave=False)):
        n, feats = head_features(model, spec, v.path, lengths([4]), 1, settings.seed, i)
        length, used = run_at(n, 4)
        val_cache.append((feats[length][0], used))

    # A "novelty" selector has no score layer to teach: only the attention learns (distillation).
    learned_scores = model.sfc.selector == "learned"
    targets: dict[tuple[int, int, int, int], torch.Tensor] = {}  # (video, length, variant, window) -> target
    for i, _ in enumerate(tqdm(train_videos if learned_scores else [], desc="informativeness",
                               disable=not progress, leave=False)):
        for length, used in runs[i].values():
            w = window(length, used)
            for j, f in enumerate(cache[i][length]):
                if (i, length, j, w) not in targets:
                    targets[(i, length, j, w)] = informativeness(backbone, f, targets_of[i], w,
                                                                 options.score_temperature)

    def step_loss(step: int, rng: np.random.Generator) -> tuple[torch.Tensor, dict[str, float]]:
        model.sfc.train()
        pick = rng.integers(0, len(train_videos), settings.batch_size)
        variant = rng.integers(0, options.variants, settings.batch_size)
        ratio = int(rng.choice(options.ratios))
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)  # (length, ratio run at) -> batch rows
        for b, i in enumerate(pick):
            groups[runs[i][ratio]].append(b)
        order, compressed, score_loss = [], [], []
        for (length, used), rows in groups.items():  # each group compresses to the tail's step count
            feats = torch.stack([cache[pick[b]][length][variant[b]] for b in rows]).float()
            compressed.append(model.sfc(feats, used)[0])
            order += rows
            if not learned_scores:
                continue
            _, score = model.sfc.scores(feats)  # learned part only: the prior stays a fixed preference
            target = torch.stack([targets[(pick[b], length, variant[b], window(length, used))] for b in rows])
            score_loss.append(-(target * F.log_softmax(score, dim=1)).sum(1))
        picked = torch.from_numpy(pick)[torch.tensor(order)]
        logits = backbone.forward_tail(torch.cat(compressed))
        loss, parts = torch.zeros(()), {}
        if learned_scores:
            scored = torch.cat(score_loss).mean()
            loss, parts["score_loss"] = options.score_weight * scored, scored.item()
        if labelled:
            ce = F.cross_entropy(logits, labels[picked])
            loss, parts["ce_loss"] = loss + ce, ce.item()
        mask = distill_mask[picked]
        if (options.distill != "none" or not labelled) and mask.sum() > 0:
            kd = F.kl_div(F.log_softmax(logits, 1), teacher_probs[picked], reduction="none").sum(1)
            distilled = (kd * mask).sum() / mask.sum()
            loss, parts["distill_loss"] = loss + options.distill_weight * distilled, distilled.item()
        return loss, parts

    eval_ratio = config.sfc.ratio if config.sfc.ratio in options.ratios else options.ratios[0]

    def train_distill() -> float:
        """KL from the teacher on the training videos as predict samples them (variant 0)."""
        kl = []
        for i in range(len(train_videos)):
            length, used = runs[i][eval_ratio]
            compressed, _ = model.sfc(cache[i][length][0][None].float(), used)
            log_p = F.log_softmax(backbone.forward_tail(compressed), 1)
            kl.append(F.kl_div(log_p, teacher_probs[i:i + 1], reduction="sum").item())
        return float(np.mean(kl))

    @torch.no_grad()
    def validate() -> dict[str, float]:
        model.sfc.eval()
        fitted = {} if labelled else {f"train_distill_r{eval_ratio}": train_distill()}
        if not val_videos:
            return fitted
        scores: dict[str, list[bool]] = {"val_trimmed": [], "val_long": []}
        for i, (v, (feats, used)) in enumerate(zip(val_videos, val_cache, strict=True)):
            compressed, _ = model.sfc(feats[None].float(), used)
            # Without labels: agreement with the dense teacher's top-1 on the clip itself
            want = v.label if labelled else int(val_teacher[i % len(val_items)])
            hit = int(backbone.forward_tail(compressed).argmax()) == want
            scores["val_long" if v.long else "val_trimmed"].append(hit)
        metric = "top1" if labelled else "teacher_agreement"
        return fitted | {f"{k}_{metric}_r4": float(np.mean(s)) for k, s in scores.items() if s}

    initial = validate()  # the untrained module: uniform temporal sampling, the baseline training must beat
    history = fit(model.sfc, step_loss, validate, settings, out_dir, resume=resume, desc="train sfc",
                  progress=progress)
    model.sfc.eval()
    after = state_hash(backbone)
    if after != before:  # cannot happen unless the code above is changed: fail loudly then
        raise RuntimeError("the backbone changed during SFC training")
    base_meta = json.loads((Path(model_dir) / "config.json").read_text()).get("training")
    data = str(data_dir) if labelled else [str(v) for v in videos]
    training = {"stage": "sfc", "base_model": str(model_dir), "base_training": base_meta, "data": data,
                "labels": "folders" if labelled else f"none: dense {options.teacher_views} teacher",
                "train_videos": len(train_videos), "val_videos": len(val_videos), "exclude": list(exclude),
                "val": list(val), "settings": asdict(settings), "options": asdict(options),
                "teacher_top1_train": float(teacher_right.float().mean()) if labelled else None,
                "input_lengths": sorted({length for c in cache for length in c}),
                "backbone_sha256_before": before, "backbone_sha256_after": after, "initial": initial,
                "history": history}
    return save_model(model, config, out_dir, training=training)
