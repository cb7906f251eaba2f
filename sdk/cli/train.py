"""`sfc-sdk train backbone|sfc`: training commands (registered on the main CLI)."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import DISTILL_MODES, SFC_GATES, SFC_SELECTORS, SHORT_VIDEO
from ..errors import ConfigError


def _settings_options(epochs: int | None, steps: int | None, lr: float | None, note: str = ""):
    def wrap(fn):
        for opt in reversed([
            click.option("--epochs", type=int, default=epochs, show_default=True, help=note or None),
            click.option("--steps-per-epoch", type=int, default=steps, show_default=True,
                         help="Training steps between two validations / checkpoints." + (f" {note}" if note else "")),
            click.option("--batch-size", type=int, default=8, show_default=True),
            click.option("--lr", type=float, default=lr, show_default=True,
                         help="Peak of the one-cycle schedule." + (f" {note}" if note else "")),
            click.option("--seed", type=int, default=0, show_default=True),
            click.option("--val", multiple=True, help="File-name glob of held-out videos (e.g. 'daria_*')."),
            click.option("--exclude", multiple=True, help="File-name glob of videos not to use at all."),
            click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint."),
            click.option("--out", "-o", type=click.Path(path_type=Path), required=True,
                         help="Output model directory."),
        ]):
            fn = opt(fn)
        return fn

    return wrap


def _settings(epochs: int, steps_per_epoch: int, batch_size: int, lr: float, seed: int):
    from ..training import TrainSettings  # torch: imported when a training command runs

    return TrainSettings(epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size, lr=lr, seed=seed)


@click.group()
def train() -> None:
    """Train a backbone, or the SFC module of a model (backbone frozen)."""


# Defaults (epochs, steps per epoch, peak lr). From scratch: the bundled model's recipe. Fine-tuning:
# the pilot in ../shared/weights/README.md (700 steps at 1e-3), until the accuracy study settles it.
SCRATCH, FINE_TUNE = (12, 200, 6e-3), (7, 100, 1e-3)
SFC_CLIPS = 0.0  # SFC-layout clips: off; a tie in the nested 7-fold study (benchmarks/results/accuracy_recipe.md)
TEACHERS = ("dense",)  # label-free `train sfc`: the dense prediction (`predict --mode dense`) is the teacher


@train.command("backbone")
@click.option("--data", required=True, type=click.Path(path_type=Path), help="Folder with one sub-folder per class.")
@click.option("--arch", help="Registered backbone name (default r2plus1d_tiny from scratch; with --init, the "
              "checkpoint's layout).")
@click.option("--init", type=click.Path(path_type=str),
              help="Start from pretrained weights: a checkpoint (with --arch) or a model directory. The classifier "
                   "is replaced when the classes differ; the input preprocessing is kept.")
@click.option("--freeze", help="With --init: keep the stages up to and including this one unchanged.")
@click.option("--sfc-clips", type=click.FloatRange(0.0, 1.0), default=SFC_CLIPS, show_default=True,
              help="Share of training clips sampled as the frozen tail meets them in an SFC pass: short bursts of "
                   "frames spread over the video (see benchmarks/results/accuracy_recipe.md).")
@_settings_options(epochs=None, steps=None, lr=None, note="Default: 12 x 200 at 6e-3 from scratch, 7 x 100 at "
                   "1e-3 with --init.")
def train_backbone_cmd(data, arch, init, freeze, sfc_clips, epochs, steps_per_epoch, batch_size, lr, seed, val,
                       exclude, resume, out) -> None:
    """Train a backbone on short clips of a folder-per-class dataset, from scratch or from pretrained weights."""
    from ..training import train_backbone

    if freeze and not init:
        raise ConfigError("--freeze keeps pretrained stages: it goes with --init")
    default = FINE_TUNE if init else SCRATCH
    epochs, steps_per_epoch, lr = (given if given is not None else fallback
                                   for given, fallback in zip((epochs, steps_per_epoch, lr), default, strict=True))
    settings = _settings(epochs, steps_per_epoch, batch_size, lr, seed)
    path = train_backbone(data, arch or (None if init else "r2plus1d_tiny"), out, settings=settings, val=val,
                          exclude=exclude, resume=resume, init=init, freeze=freeze, sfc_clips=sfc_clips)
    click.echo(f"model written to {path}")


@train.command("sfc")
@click.argument("videos", nargs=-1, type=click.Path(path_type=Path))
@click.option("--model", "--backbone", "model_dir", required=True, type=click.Path(path_type=Path),
              help="Model directory whose backbone to use (e.g. `sfc-sdk pull kinetics400-i3d`'s, or the output "
                   "of `train backbone`).")
@click.option("--data", type=click.Path(path_type=Path),
              help="Folder with one sub-folder per class (labelled); or give VIDEOS with --teacher dense.")
@click.option("--teacher", type=click.Choice(TEACHERS),
              help="Without labels: learn from VIDEOS (files or folders) to answer as the dense prediction "
                   "(--teacher-views) of the same backbone does.")
@click.option("--teacher-views", default="10x3", show_default=True, help="The dense teacher's views (clips x crops).")
@click.option("--ratios", help="Ratios drawn at random per batch (default: those of 2,4,8 the network runs).")
@click.option("--distill", type=click.Choice(DISTILL_MODES), default="correct",
              show_default=True,
              help="Distil the dense 30-view prediction on: the videos it gets right, all, or none (with "
                   "--data; without labels every video is distilled).")
@click.option("--long-videos/--no-long-videos", default=True, show_default=True,
              help="Also train on long versions of the training clips (clip inside its empty scene).")
@click.option("--split", help="End the head after this stage instead of the model's (see `sfc-sdk backbones`).")
@click.option("--gate", type=click.Choice(SFC_GATES),
              help="A fresh SFC module with this attention gate (default: the model's own module; "
                   "see docs/architecture.md).")
@click.option("--attention/--no-attention", default=None,
              help="A fresh SFC module with or without attention (--no-attention: selection alone).")
@click.option("--selector", type=click.Choice(SFC_SELECTORS),
              help="A fresh SFC module whose kept steps are scored by a trained layer, or by the head features' "
                   "distance from the video's median step ('novelty': selection needs no training; only the attention "
                   "is trained).")
@click.option("--score-window", help="Window the score targets are measured on: a ratio, or 'ratio' for the ratio "
              "drawn per batch.")
@click.option("--variants", type=click.IntRange(min=1), default=4, show_default=True,
              help="Augmented samplings of each training video whose head features are kept (memory and the "
                   "one-off feature time grow with it: 256-frame I3D, 38 MB and 2.5 s each at the stem).")
@click.option("--short", type=click.Choice(SHORT_VIDEO), default="adapt",
              show_default=True,
              help="Training inputs of clips shorter than the input x the training stride: 'repeat' spreads the "
              "input length over them; 'adapt' samples them as predict does (a shorter input at a lower ratio).")
@_settings_options(epochs=6, steps=100, lr=1e-3)
def train_sfc_cmd(videos, model_dir, data, teacher, teacher_views, ratios, distill, long_videos, split, gate,
                  attention, selector, score_window, variants, short, epochs, steps_per_epoch, batch_size, lr, seed,
                  val, exclude, resume, out) -> None:
    """Train only the SFC module; the backbone is frozen and verified unchanged.

    Labelled: --data FOLDER (one sub-folder per class). Label-free: --teacher dense VIDEOS...
    (the module distils the backbone's own dense prediction; no labels file)."""
    from dataclasses import replace

    from ..config import read_model_config
    from ..training import SFCTrainOptions, train_sfc
    from ..video.sampling import Views

    try:
        ratio_list = tuple(int(r) for r in ratios.split(",")) if ratios else None
    except ValueError:
        raise ConfigError(f"--ratios must be integers separated by commas, got {ratios!r}") from None
    window_options = {}
    if score_window:
        if score_window != "ratio" and not score_window.isdigit():
            raise ConfigError(f"--score-window must be a ratio or 'ratio', got {score_window!r}")
        window_options["score_window"] = None if score_window == "ratio" else int(score_window)
    if bool(data) == bool(videos) or bool(videos) != bool(teacher):
        raise ConfigError("give --data FOLDER (a sub-folder per class), or VIDEOS with --teacher dense (no labels)")
    Views.parse(teacher_views)  # a typo is one line now, not after the first teacher video
    options = SFCTrainOptions(ratios=ratio_list, distill=distill, long_videos=long_videos, short=short,
                              variants=variants, teacher_views=teacher_views, **window_options)
    module = None
    if gate is not None or attention is not None or selector is not None:
        module = read_model_config(model_dir).sfc
        module = replace(module, gate=gate or module.gate, selector=selector or module.selector,
                         attention=module.attention if attention is None else attention)
    path = train_sfc(model_dir, data, out, settings=_settings(epochs, steps_per_epoch, batch_size, lr, seed),
                     options=options, val=val, exclude=exclude, resume=resume, split=split, module=module,
                     videos=videos)
    click.echo(f"model written to {path}")
