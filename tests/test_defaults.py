"""Where the SDK keeps its per-user files, and the input recipe a config may carry."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfc_sdk.config import InputSpec, ModelConfig
from sfc_sdk.defaults import cache_dir
from sfc_sdk.errors import ConfigError


def test_cache_follows_sfc_sdk_cache_then_xdg_cache_home_then_home(monkeypatch, tmp_path):
    monkeypatch.delenv("SFC_SDK_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "sfc-sdk"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # the XDG spec: relative values are ignored
    assert cache_dir() == Path.home() / ".cache" / "sfc-sdk"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "sfc-sdk"
    monkeypatch.setenv("SFC_SDK_CACHE", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "mine"


@pytest.mark.parametrize("change, message", [
    ({"std": [0.5, 0.5]}, "std must be three numbers"),
    ({"mean": [0.4, 0.4, 0.4, 0.4]}, "mean must be three numbers"),
    ({"mean": ["a", 0.4, 0.4]}, "mean must be three numbers"),
    ({"std": [0.5, 0.0, 0.5]}, "std must be positive"),
    ({"crop_size": 0}, "crop_size must be a positive integer"),
    ({"resize_size": 64}, "at least crop_size"),
])
def test_a_hand_edited_input_recipe_is_refused_in_one_line(change, message):
    spec = {"clip_len": 16, "frame_stride": 2, "crop_size": 112, "resize_size": 128, "mean": [0.4] * 3,
            "std": [0.2] * 3}
    with pytest.raises(ConfigError, match=message):
        ModelConfig.from_dict({"backbone": "r2plus1d_tiny", "labels": ["a"], "input": {**spec, **change}})
    assert ModelConfig.from_dict({"backbone": "r2plus1d_tiny", "labels": ["a"], "input": spec}).input == InputSpec(
        16, 2, 112, 128, (0.4,) * 3, (0.2,) * 3)
