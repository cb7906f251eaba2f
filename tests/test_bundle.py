"""Bundles are refused when tampered with (a model file or the manifest itself), incomplete,
of another schema, other than the one pinned by digest, or unsafe to unpack."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from sfc_sdk import Recognizer
from sfc_sdk.bundle import Bundle, load_manifest, manifest_digest, pack
from sfc_sdk.defaults import SAMPLE_CLIP
from sfc_sdk.errors import BundleError, ConfigError


@pytest.fixture
def bundle(bundles, tmp_path) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(bundles("onnx", "fp32"), copy)
    return copy


def _edit_manifest(bundle: Path, reseal: bool = True, **changes) -> dict:
    """Change manifest entries; `reseal`: recompute its digest, as someone who edits it on
    purpose would (so the checks behind the digest's are reached)."""
    path = bundle / "manifest.json"
    data = json.loads(path.read_text())
    data.update(changes)
    if reseal and "digest" in data:
        data["digest"] = manifest_digest(data)
    path.write_text(json.dumps(data))
    return data


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
    data["digest"] = manifest_digest(data)
    (bundle / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(BundleError, match="missing 'precision'"):
        load_manifest(bundle)
    (bundle / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        load_manifest(bundle)


def test_manifest_edited_by_hand_is_refused(bundle, run_clip):
    """Labels edited in manifest.json were used as is; the manifest is sealed by its digest."""
    original = (bundle / "manifest.json").read_text()
    data = json.loads(original)
    labels = data["model"]["labels"]
    _edit_manifest(bundle, reseal=False, model={**data["model"], "labels": [labels[1], labels[0], *labels[2:]]})
    with pytest.raises(BundleError, match="manifest.json was edited after export"):
        Recognizer.load(bundle)
    (bundle / "manifest.json").write_text(original)
    _edit_manifest(bundle, reseal=False, notes=["a note"])  # an edit anywhere, not only to labels
    with pytest.raises(BundleError, match="edited"):
        load_manifest(bundle, verify=False)
    (bundle / "manifest.json").write_text(json.dumps(data, indent=4))  # layout is not content
    assert load_manifest(bundle).digest == data["digest"]


def test_digest_is_the_sha256_of_the_canonical_manifest_and_pins_the_bundle(bundle, tmp_path):
    data = json.loads((bundle / "manifest.json").read_text())
    content = {k: v for k, v in data.items() if k != "digest"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    digest = "sha256:" + hashlib.sha256(canonical).hexdigest()
    assert data["schema_version"] == 2 and data["digest"] == digest
    assert Bundle.open(bundle).digest == load_manifest(bundle).digest == digest

    hex_digest = digest.removeprefix("sha256:")
    for pin in (digest, hex_digest, hex_digest[:12], "sha256:" + hex_digest[:20].upper()):
        assert Bundle.open(bundle, expect_digest=pin).digest == digest
    archive = pack(bundle, tmp_path / "b.tar.gz")  # the same bundle packed: the same digest
    assert Bundle.open(archive, expect_digest=hex_digest[:12]).digest == digest

    other = "0" * 64 if not hex_digest.startswith("0") else "f" * 64
    with pytest.raises(BundleError, match=f"b.tar.gz: not the pinned bundle: expected digest sha256:{other}, "
                                          f"got {digest}"):
        Bundle.open(archive, expect_digest=other)
    for bad in (hex_digest[:11], "sha256:" + "x" * 12, ""):
        with pytest.raises(ConfigError, match="12 or more hex characters"):
            Bundle.open(bundle, expect_digest=bad)


def test_schema_1_bundle_loads_unsealed_and_can_be_pinned(bundle):
    """Bundles of the previous schema carry no digest: they still load (a fleet's deployed
    bundles survive an SDK upgrade), with the digest of their manifest as it is."""
    data = _edit_manifest(bundle, reseal=False, schema_version=1)
    del data["digest"]
    (bundle / "manifest.json").write_text(json.dumps(data))
    m = load_manifest(bundle)
    assert m.schema_version == 1 and m.digest == manifest_digest(data)
    Bundle.open(bundle, expect_digest=m.digest)
    _edit_manifest(bundle, reseal=False, notes=["edited"])
    with pytest.raises(BundleError, match="expected digest"):
        Bundle.open(bundle, expect_digest=m.digest)


def test_cli_info_shows_the_digest_and_checks_a_pin(cli, bundle):
    digest = Bundle.open(bundle).digest
    out = cli("info", "--model", bundle)
    assert out.returncode == 0, out.stderr
    assert f"digest       {digest}" in out.stdout and "graph        model.onnx" in out.stdout
    assert cli("info", "--model", bundle, "--expect-digest", digest[7:19]).returncode == 0
    out = cli("info", "--model", bundle, "--expect-digest", "0123456789ab")
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "expected digest sha256:0123456789ab" in out.stderr


def test_cli_watch_refuses_another_bundle(cli, bundle):
    out = cli("watch", SAMPLE_CLIP, "--model", bundle, "--expect-digest", "0123456789ab",
              "--max-windows", "1")
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "not the pinned bundle" in out.stderr


def test_predict_runs_only_the_pinned_bundle(cli, bundle, tmp_path, run_clip):
    digest = Bundle.open(bundle).digest
    pinned = Recognizer(bundle, digest=digest[:19])  # "sha256:" + 12 hex characters
    assert pinned.predict(run_clip).label
    archive = pack(bundle, tmp_path / "b.tar.gz")
    assert Recognizer(archive, digest=digest).predict(run_clip).label == pinned.predict(run_clip).label
    with pytest.raises(ConfigError, match="pins an exported bundle"):
        Recognizer(None, digest=digest)  # the bundled model is a model directory
    out = cli("predict", run_clip, "--model", bundle, "--expect-digest", "0123456789ab")
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "not the pinned bundle" in out.stderr
    out = cli("predict", run_clip, "--model", bundle, "--expect-digest", digest, "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["top"], out.stderr


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
