"""Bundles are refused when tampered with, incomplete, of another schema, or unsafe to unpack."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from sfc_sdk import Recognizer
from sfc_sdk.bundle import Bundle, load_manifest, pack
from sfc_sdk.errors import BundleError


@pytest.fixture
def bundle(bundles, tmp_path) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(bundles("onnx", "fp32"), copy)
    return copy


def _edit_manifest(bundle: Path, **changes) -> None:
    path = bundle / "manifest.json"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_intact_bundle_loads_and_describes_itself(bundle):
    m = load_manifest(bundle)
    assert m.model.labels[1] == "jack" and m.frames == 64 and m.ratio == 4
    assert m.inputs[0].shape == (1, 3, 64, 112, 112) and [o.name for o in m.outputs] == ["logits", "kept"]
    assert set(m.files) == {"model.onnx", *(f"frames-{n}/model.onnx" for n in (16, 32, 48))}
    assert [(s.frames, s.ratio) for s in m.short_inputs] == [(16, 1), (32, 2), (48, 3)]
    assert m.parity["top1_agreement"] == 1.0 and all(p["top1_agreement"] == 1.0 for p in m.parity["short_inputs"])


def test_one_changed_byte_is_refused(bundle):
    model = bundle / "model.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0x01
    model.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="checksum mismatch for model.onnx"):
        Recognizer.load(bundle)


def test_missing_file_is_refused(bundle):
    (bundle / "model.onnx").unlink()
    with pytest.raises(BundleError, match="model.onnx listed in the manifest is missing"):
        Recognizer.load(bundle)


@pytest.mark.parametrize("changes,message", [
    ({"schema_version": 99}, "schema version 99 is not supported"),
    ({"schema": "something-else"}, "not an sfc-sdk bundle"),
    ({"ratio": "4"}, "'ratio' must be int"),
    ({"frames": 0}, "'frames' must be positive"),
    ({"model_file": "other.onnx"}, "not among its checksummed files"),
    ({"files": {"../evil.onnx": "0" * 64}}, "escape"),
    ({"inputs": [{"name": "frames"}]}, "need name, shape and dtype"),
])
def test_bad_manifest_is_refused(bundle, changes, message):
    _edit_manifest(bundle, **changes)
    with pytest.raises(BundleError, match=message):
        load_manifest(bundle)


def test_manifest_missing_key_or_not_json(bundle):
    data = json.loads((bundle / "manifest.json").read_text())
    del data["precision"]
    (bundle / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(BundleError, match="missing 'precision'"):
        load_manifest(bundle)
    (bundle / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        load_manifest(bundle)


def test_archive_round_trip(bundle, tmp_path, run_clip):
    archive = pack(bundle, tmp_path / "b.tar.gz")
    rec = Recognizer.load(archive)
    pred = rec.predict(run_clip)
    kept = rec.default_frames // rec.head_stride // rec.default_ratio  # 64 frames / 4 per head step / ratio 4
    assert pred.runtime.startswith("onnxruntime") and len(pred.kept) == kept == 4


@pytest.mark.parametrize("name", ["../escape.txt", "/tmp/absolute.txt", "sub/../../escape.txt"])
def test_archive_with_escaping_paths_is_refused(tmp_path, name):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    with pytest.raises(BundleError, match="escape"):
        Bundle.open(archive)
    assert not (tmp_path.parent / "escape.txt").exists()


def test_archive_with_a_symlink_is_refused(tmp_path):
    archive = tmp_path / "link.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(BundleError, match="link"):
        Bundle.open(archive)


def test_not_an_archive(tmp_path):
    fake = tmp_path / "fake.tar.gz"
    fake.write_text("hello")
    with pytest.raises(BundleError, match="not a readable bundle archive"):
        Bundle.open(fake)
