"""The on-disk export cache: what it keys on, and that it never gets in a user's way.
Reuse across real `convert` processes is checked in tests/devices/test_devices.py
(profile, then convert --target auto)."""

from __future__ import annotations

import os

import pytest

from sfc_sdk.converters import export_cache
from sfc_sdk.converters.exportable import ExportShape


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SFC_SDK_EXPORT_CACHE", str(tmp_path / "exports"))
    return tmp_path / "exports"


def test_the_key_changes_with_anything_the_graph_depends_on():
    shape = ExportShape(frames=64, ratio=4, crop=112, head_stride=2)
    base = ("model-sha", "ExportableSFC", 4, shape, 18)
    assert export_cache.export_key(*base) == export_cache.export_key(*base)
    variants = [("other-sha", "ExportableSFC", 4, shape, 18), ("model-sha", "ExportableClips", 4, shape, 18),
                ("model-sha", "ExportableSFC", 2, shape, 18), ("model-sha", "ExportableSFC", 4, shape, 17),
                ("model-sha", "ExportableSFC", 4, ExportShape(frames=32, ratio=4, crop=112, head_stride=2), 18)]
    keys = {export_cache.export_key(*v) for v in variants}
    assert len(keys) == len(variants) and export_cache.export_key(*base) not in keys


def test_kept_exports_round_trip_and_the_least_recently_used_go_first(private_cache, monkeypatch):
    assert export_cache.load("absent") is None
    for i, key in enumerate(("a", "b", "c")):
        export_cache.store(key, bytes([i]) * 1000)
        os.utime(private_cache / f"{key}.onnx", (1000 + i, 1000 + i))  # a oldest, c newest
    assert export_cache.load("a") == bytes([0]) * 1000  # using "a" makes it the newest
    monkeypatch.setattr(export_cache, "MAX_BYTES", 2500)
    export_cache.store("d", b"\x03" * 1000)
    assert sorted(p.stem for p in private_cache.glob("*.onnx")) == ["a", "d"]
    assert not list(private_cache.glob("*.part"))  # no half-written files left behind


def test_a_cache_that_cannot_be_written_only_costs_time(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("SFC_SDK_EXPORT_CACHE", str(blocker / "exports"))
    export_cache.store("k", b"graph")  # no error: the export itself already succeeded
    assert export_cache.load("k") is None


def test_kept_exports_are_readable_by_others_as_the_umask_says(private_cache):
    """mkstemp made them 0600: a cache shared by a team or a service account was private."""
    old = os.umask(0o022)
    try:
        export_cache.store("shared", b"graph")
    finally:
        os.umask(old)
    assert (private_cache / "shared.onnx").stat().st_mode & 0o777 == 0o644
