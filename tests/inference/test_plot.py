"""Why SFC chose what it chose: selection scores in the Prediction, `Prediction.plot`, and
`sfc-sdk predict --plot`, with the bundled model on the bundled sample clip."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest

from sfc_sdk import Recognizer
from sfc_sdk.cli.predict import plot_paths
from sfc_sdk.defaults import SAMPLE_CLIP
from sfc_sdk.errors import ConfigError, MissingExtraError
from sfc_sdk.runtimes.base import Runtime, RuntimeInfo

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def rec() -> Recognizer:
    return Recognizer(device="cpu")  # the bundled model, on PyTorch: scores come with the prediction


@pytest.fixture(scope="module")
def pred(rec):
    return rec.predict(SAMPLE_CLIP)


def test_scores_are_what_the_kept_moments_were_chosen_by(rec, pred):
    steps = rec.default_frames // rec.head_stride
    assert len(pred.scores) == len(pred.score_spans) == steps
    # The kept moments are the steps with the highest scores, and cover the same frames.
    top = sorted(np.argsort(pred.scores)[::-1][:len(pred.kept)])
    assert [tuple(pred.score_spans[s]) for s in top] == [(m.first_frame, m.last_frame) for m in pred.kept]
    spans = pred.score_spans
    assert all(a <= b < c for (a, b), (c, _) in zip(spans, spans[1:], strict=False))  # in order, disjoint
    assert spans[-1][1] < pred.num_frames
    back = json.loads(pred.to_json())
    assert back["scores"] == pred.scores and [tuple(s) for s in back["score_spans"]] == spans


def test_scored_pass_is_the_plain_pass(rec):
    spec = rec.input_spec
    x = np.random.default_rng(0).standard_normal((1, 3, rec.default_frames, spec.crop_size, spec.crop_size),
                                                 dtype=np.float32)
    logits, kept = rec.runtime.run_sfc(x, 4)
    logits2, kept2, scores = rec.runtime.run_sfc_scored(x, 4)
    np.testing.assert_array_equal(kept, kept2)
    np.testing.assert_allclose(logits, logits2, rtol=1e-5, atol=1e-6)
    assert scores.shape == (1, rec.default_frames // rec.head_stride)

    class NoScores(Runtime):  # what an exported bundle's runtime inherits
        name, head_stride = "fake", 4

        def check_sfc(self, frames, ratio):
            pass

        def run_sfc(self, frames, ratio):
            return logits, kept

        def info(self):
            return RuntimeInfo("fake", "cpu", "fp32")

    got = NoScores().run_sfc_scored(x, 4)
    assert got[0] is logits and got[1] is kept and got[2] is None


def test_plot_draws_scores_kept_moments_and_their_frames(pred, decode_all, tmp_path):
    path = tmp_path / "why.png"
    fig = pred.plot(path)
    assert path.read_bytes()[:8] == PNG_MAGIC
    image = cv2.imread(str(path))
    assert image is not None and image.shape[1] > 1000 and image.shape[0] > 600

    k = len(pred.kept)
    assert [ax.get_label() for ax in fig.axes] == ["scores"] + [f"kept {i}" for i in range(1, k + 1)]
    curve = fig.axes[0].lines[0]
    assert list(curve.get_ydata()) == pred.scores
    assert pred.label in fig._suptitle.get_text()
    # Each thumbnail is the kept frame itself (decoded again, at the thumbnail's size).
    frames = decode_all(SAMPLE_CLIP)
    for ax, moment in zip(fig.axes[1:], pred.kept, strict=True):
        thumb = ax.images[0].get_array().astype(float)
        size = (thumb.shape[1], thumb.shape[0])
        want = cv2.resize(frames[moment.frame], size, interpolation=cv2.INTER_AREA)
        other = cv2.resize(frames[(moment.frame + 12) % len(frames)], size, interpolation=cv2.INTER_AREA)
        err = np.abs(thumb - want).mean()
        assert err < 3 and err < np.abs(thumb - other).mean(), (moment, err)


def test_without_scores_the_plot_says_so_and_still_shows_the_kept_frames(pred):
    bundle_like = dataclasses.replace(pred, scores=None, score_spans=None, runtime="onnxruntime/cpu/fp32")
    fig = bundle_like.plot()
    scores_ax = fig.axes[0]
    assert len(scores_ax.lines) == 0 and any("no selection scores" in t.get_text() for t in scores_ax.texts)
    assert len(fig.axes) == 1 + len(pred.kept)


def test_dense_prediction_is_a_config_error(rec, tmp_path):
    dense = rec.predict(SAMPLE_CLIP, mode="dense", views="1x1")
    assert dense.scores is None
    with pytest.raises(ConfigError, match="SFC predictions"):
        dense.plot(tmp_path / "dense.png")
    assert not (tmp_path / "dense.png").exists()


def test_without_matplotlib_a_missing_extra_error(pred, monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # importing it now raises ImportError
    with pytest.raises(MissingExtraError, match=r'pip install "sfc-sdk\[plot\]"'):
        pred.plot()


def test_cli_predict_plot_writes_the_file(cli, tmp_path):
    out = cli("predict", SAMPLE_CLIP, "--plot", tmp_path / "out.png")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "out.png").read_bytes()[:8] == PNG_MAGIC
    assert f"plot: {tmp_path / 'out.png'}" in out.stdout


def test_several_videos_get_one_plot_each():
    videos = ["a/clip.avi", "b/clip.avi", "run.mp4"]
    assert [p.as_posix() for p in plot_paths("plots/out.png", videos)] == [
        "plots/out-clip.png", "plots/out-clip-2.png", "plots/out-run.png"]
    assert [p.as_posix() for p in plot_paths("plots/out.png", videos[:1])] == ["plots/out.png"]


NO_MATPLOTLIB = textwrap.dedent("""
    import sys

    class NoMatplotlib:  # as if matplotlib were not installed
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "matplotlib":
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoMatplotlib())
""")


def test_cli_without_matplotlib_is_one_line_naming_the_extra(tmp_path):
    argv = ["sfc-sdk", "predict", str(SAMPLE_CLIP), "--plot", str(tmp_path / "out.png")]
    code = NO_MATPLOTLIB + f"sys.argv = {argv!r}\nfrom sfc_sdk.cli import main\nmain()\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("error: "), out.stderr
    assert 'pip install "sfc-sdk[plot]"' in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "out.png").exists()
