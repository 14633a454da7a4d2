import threading
import time

import numpy as np
import pytest

from qa_service.batching import MicroBatcher


class SlowEncoder:
    """Encodes a text as [len(text), call number]; sleeps so that callers pile up behind it."""

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay
        self.calls: list[list[str]] = []

    def __call__(self, texts):
        self.calls.append(list(texts))
        time.sleep(self.delay)
        return np.array([[len(t), len(self.calls)] for t in texts], dtype=np.float32)


def test_a_lone_caller_gets_its_vector_from_one_call():
    encoder = SlowEncoder(delay=0)
    batcher = MicroBatcher(encoder)

    assert batcher.embed("abc")[0] == 3
    assert encoder.calls == [["abc"]]


def test_concurrent_callers_share_encoder_calls_and_each_gets_its_own_vector():
    encoder = SlowEncoder()
    batcher = MicroBatcher(encoder)
    texts = ["x" * n for n in range(1, 17)]
    results: dict[str, np.ndarray] = {}

    def ask(text):
        results[text] = batcher.embed(text)

    threads = [threading.Thread(target=ask, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert {t: int(v[0]) for t, v in results.items()} == {t: len(t) for t in texts}
    assert sorted(t for call in encoder.calls for t in call) == sorted(texts)  # every text encoded once
    assert len(encoder.calls) < len(texts)  # and in fewer calls than requests


def test_batches_never_exceed_max_batch():
    encoder = SlowEncoder()
    batcher = MicroBatcher(encoder, max_batch=3)
    threads = [threading.Thread(target=batcher.embed, args=("t" * n,)) for n in range(1, 11)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert max(len(c) for c in encoder.calls) <= 3
    assert sum(len(c) for c in encoder.calls) == 10


def test_an_encoder_failure_reaches_every_caller_in_the_batch():
    def broken(texts):
        raise RuntimeError("encoder down")

    batcher = MicroBatcher(broken)

    with pytest.raises(RuntimeError, match="encoder down"):
        batcher.embed("q")
