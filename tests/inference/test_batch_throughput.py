"""Batch prediction keeps the runtime busy (the next videos decode in a thread; OpenVINO
keeps several in flight in an AsyncInferQueue) and answers exactly as one video at a
time, in order, with a failed video in its place."""

from __future__ import annotations

import threading

import pytest

from sfc_sdk import Recognizer
from sfc_sdk.errors import NotAVideoError
from sfc_sdk.inference.prefetch import prefetched


def test_openvino_batch_gives_the_serial_answers_in_order(bundles, heldout_clips, tmp_path):
    rec = Recognizer.load(bundles("openvino", "fp32"))
    good = heldout_clips[:12]  # several shorter than the input: the bundle's short inputs, in the same batch
    broken = tmp_path / "broken.mp4"
    broken.write_text("not a video")
    serial = [rec.predict(v) for v in good]
    out = list(rec.iter_predict([*good[:8], broken, *good[8:]], errors="yield"))
    assert isinstance(out[8], NotAVideoError)
    batch = out[:8] + out[9:]
    for b, s in zip(batch, serial, strict=True):
        assert (b.source, b.label, b.kept_times) == (s.source, s.label, s.kept_times)
        assert abs(b.score - s.score) < 1e-5
    with pytest.raises(NotAVideoError):
        rec.predict_batch([good[0], broken])


def test_openvino_keeps_compiled_models_in_the_user_cache(bundles, tmp_path, monkeypatch):
    monkeypatch.setenv("SFC_SDK_CACHE", str(tmp_path))
    Recognizer.load(bundles("openvino", "fp32"))
    assert list((tmp_path / "openvino").glob("*.blob")), "no compiled model in the cache folder"


def test_prefetched_raises_at_the_failing_items_turn_and_stops_when_closed():
    def work(i: int) -> int:
        if i == 3:
            raise ValueError("item 3")
        return i * 10

    got = []
    with pytest.raises(ValueError, match="item 3"):
        for value in prefetched(range(6), work):
            got.append(value)
    assert got == [0, 10, 20]  # everything before the failure, in order

    started = []
    it = prefetched(range(1000), lambda i: started.append(i) or i, depth=2)
    assert next(it) == 0
    it.close()  # the consumer stops early: the thread stops too, a few items ahead at most
    assert not any(t.name == "sfc-prefetch" and t.is_alive() for t in threading.enumerate())
    assert len(started) < 10


def test_a_torch_batch_job_lends_one_core_to_decoding_and_gives_it_back(heldout_clips):
    import torch

    rec = Recognizer()
    before = torch.get_num_threads()
    serial = [rec.predict(v) for v in heldout_clips[:4]]
    during = []
    for pred, ref in zip(rec.iter_predict(heldout_clips[:4]), serial, strict=True):
        during.append(torch.get_num_threads())
        assert pred.label == ref.label and abs(pred.score - ref.score) < 1e-5
    assert during == [max(1, before - 1)] * 4  # the decoding thread gets a core
    assert torch.get_num_threads() == before  # and the process's setting is restored


def test_prefetched_raises_when_the_items_themselves_fail_or_stall():
    def lazy_source():
        yield 1
        yield 2
        raise OSError("the listing broke")

    got = []
    with pytest.raises(OSError, match="listing broke"):  # raised at its turn, not a hang
        for value in prefetched(lazy_source(), lambda i: i * 10):
            got.append(value)
    assert got == [10, 20]
    never = threading.Event()
    with pytest.raises(TimeoutError):
        list(prefetched([1], lambda i: never.wait(2.0), timeout_s=0.2))
