"""`sfc-sdk train sfc`: fit only the SFC module of a model; the backbone stays frozen.

Loss: cross-entropy plus distillation from the dense 30-view prediction of the same
backbone, with a random ratio per batch so one module serves every ratio. Without labels
(`videos=`, a folder of any videos) the dense prediction is the only target: the module
learns to answer as 30 views do, and where the tail answers so best. The
backbone's hash before and after is stored with the model, as proof it is unchanged.

The parts, in the order a run uses them:
    sfc_options    SFCTrainOptions: the settings beyond the loop's
    sfc_data       the videos and the targets each has (labels, the dense teacher)
    sfc_features   the frozen head's features, computed once per video and sampling
    sfc_scores     where the frozen tail classifies each video best (the scores' targets)
    sfc_objective  the step loss and the validation scores
    loop           the training loop, checkpoint and resume (shared with `train backbone`)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..config import ModelConfig, SFCSettings
from ..errors import ConfigError
from ..inference import Recognizer
from ..model import SFCModel, load_model, resplit, save_model, state_hash
from .loop import TrainSettings, fit
from .sfc_data import VideoSplit, select_videos, teacher_targets, with_long_versions
from .sfc_features import VAL_RATIO, InputPlan, cache_features
from .sfc_objective import SFCObjective
from .sfc_options import SFCTrainOptions
from .sfc_scores import score_targets

__all__ = ["runnable_ratios", "train_sfc"]


@dataclass(frozen=True)
class SFCRun:
    """What one `train_sfc` call trains on and how, as the caller gave it (kept as given:
    the paths are written back into the model's training record)."""

    model_dir: str | Path
    data_dir: str | Path | None
    videos: Sequence[str | Path]
    val: Sequence[str]
    exclude: Sequence[str]
    settings: TrainSettings
    options: SFCTrainOptions


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
    out_dir = Path(out_dir)
    model, config = _model_to_train(model_dir, split, module)
    run = SFCRun(model_dir, data_dir, videos, val, exclude,
                 settings or TrainSettings(epochs=6, steps_per_epoch=100, lr=1e-3),
                 _with_ratios(options or SFCTrainOptions(), model, config.sfc.frames))
    chosen = select_videos(config.labels, data_dir, videos, val, exclude)
    backbone = model.backbone.eval()
    for p in backbone.parameters():
        p.requires_grad_(False)
    before = state_hash(backbone)
    objective = _objective(model, config, chosen, run, out_dir, before, progress)

    initial = objective.validate()  # the untrained module: uniform temporal sampling, the baseline to beat
    history = fit(model.sfc, objective.step_loss, objective.validate, run.settings, out_dir, resume=resume,
                  desc="train sfc", progress=progress)
    model.sfc.eval()
    after = state_hash(backbone)
    if after != before:  # cannot happen unless the code above is changed: fail loudly then
        raise RuntimeError("the backbone changed during SFC training")
    training = _training_record(run, objective, before, after, initial, history)
    return save_model(model, config, out_dir, training=training)


def _model_to_train(model_dir: str | Path, split: str | None, module: SFCSettings | None
                    ) -> tuple[SFCModel, ModelConfig]:
    """The model whose SFC module trains: split elsewhere and given a fresh module if asked."""
    model, config = load_model(model_dir)
    if split and split != model.backbone.split:
        model, config = resplit(model, config, split)
    if module is not None:
        model, config = SFCModel.around(model.backbone, module), replace(config, sfc=module)
    return model, config


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


def _with_ratios(options: SFCTrainOptions, model: SFCModel, frames: int) -> SFCTrainOptions:
    """`options` with its ratios named (None: those the network runs), each checked to run
    on this network: every ratio drawn in training must."""
    if options.ratios is None:
        options = replace(options, ratios=runnable_ratios(model, frames))
    for ratio in options.ratios:
        model.kept_steps(frames, ratio)
    return options


def _objective(model: SFCModel, config: ModelConfig, chosen: VideoSplit, run: SFCRun, out_dir: Path,
               backbone_sha256: str, progress: bool) -> SFCObjective:
    """Everything the steps need, computed once: the training and validation videos (with
    long versions in `out_dir`), their teacher targets, cached head features and score
    targets."""
    options = run.options
    long_dir = out_dir / "long_videos" if options.long_videos else None
    train_videos = with_long_versions(chosen.train, long_dir, options.seed_long)
    val_videos = with_long_versions(chosen.val, long_dir, options.seed_long + 1)
    # Teacher: the same backbone's dense prediction, once per training video (kept on disk).
    rec = Recognizer.from_model(model, config, device="cpu")
    targets = teacher_targets(rec, chosen, train_videos, backbone_sha256, options.distill, options.teacher_views,
                              progress)
    # Each video's input length and the ratio it runs at, per trained ratio, as predict
    # samples it (`options.short`); validation at VAL_RATIO.
    planned = {*options.ratios, VAL_RATIO} if val_videos else set(options.ratios)
    plan = InputPlan(rec, config.sfc.frames, planned, options.short, options.score_window)
    features = cache_features(model, config.input_spec, plan, train_videos, val_videos, options.ratios,
                              options.variants, run.settings.seed, progress)
    scores = score_targets(model.backbone, features, plan, targets.scores, options.score_temperature,
                           model.sfc.selector == "learned", progress)
    eval_ratio = config.sfc.ratio if config.sfc.ratio in options.ratios else options.ratios[0]
    return SFCObjective(model, features, targets, plan, scores, val_videos, options, run.settings.batch_size,
                        eval_ratio)


def _training_record(run: SFCRun, objective: SFCObjective, before: str, after: str, initial: dict[str, float],
                     history: list[dict]) -> dict:
    """What the model directory's config.json keeps of this training: the data, settings,
    scores before and per epoch, and the backbone's hash before and after."""
    labelled = run.data_dir is not None
    base_meta = json.loads((Path(run.model_dir) / "config.json").read_text()).get("training")
    data = str(run.data_dir) if labelled else [str(v) for v in run.videos]
    return {"stage": "sfc", "base_model": str(run.model_dir), "base_training": base_meta, "data": data,
            "labels": "folders" if labelled else f"none: dense {run.options.teacher_views} teacher",
            "train_videos": len(objective.features.train), "val_videos": len(objective.val_videos),
            "exclude": list(run.exclude), "val": list(run.val), "settings": asdict(run.settings),
            "options": asdict(run.options), "teacher_top1_train": objective.targets.teacher_top1,
            "input_lengths": objective.features.input_lengths,
            "backbone_sha256_before": before, "backbone_sha256_after": after, "initial": initial,
            "history": history}
