"""Export a trained cross-encoder to ONNX, quantise it to int8 (`quantize`) and time it (`latency`)."""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa_service.rerank import Reranker, encode_pairs
from train.reranker_data import VAL_CANDIDATES, Group


def export(model: Any, tokenizer: Any, fp32: Path, max_length: int) -> None:
    """The torch model to ONNX (opset 17; batch and token axes dynamic; output `logits` of shape [batch])."""
    import torch

    model.eval()
    sample = encode_pairs(tokenizer, "What causes gout?", ["Gout\nGout is caused by urate.", "Other"], max_length)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    axes |= {"token_type_ids": {0: "batch", 1: "tokens"}, "logits": {0: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            tuple(torch.from_numpy(a) for a in sample),
            str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def quantize(
    fp32: Path, target: Path, method: str, tokenizer: Any, calibration: Sequence[Group], max_length: int
) -> None:
    """int8 weights (QInt8) either way; activations quantised per run (dynamic) or with fixed ranges (static).

    Dynamic quantisation takes one activation range per tensor at run time, so a pair's logit moves
    with the other pairs of its batch. Static quantisation fixes every range from calibration batches
    (training groups, 99.99th percentile): a pair scores the same alone or in any batch.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    if method == "dynamic":
        quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8)
        return

    # The percentile calibrator stacks every batch's activations: pad all batches to one width (and
    # mind the memory: it holds them all, several GB for 300 groups).
    batches = [encode_pairs(tokenizer, g.question, g.passages, max_length) for g in calibration]
    width = max(b[0].shape[1] for b in batches)

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._batches = iter(batches)

        def get_next(self) -> dict[str, Any] | None:
            batch = next(self._batches, None)
            if batch is None:
                return None
            ids, mask, types = (np.pad(a, ((0, 0), (0, width - a.shape[1]))) for a in batch)
            return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}

    quantize_static(
        str(fp32),
        str(target),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Gather"],
        calibrate_method=CalibrationMethod.Percentile,
        extra_options={"CalibPercentile": 99.99},
    )


def latency(model_dir: Path, groups: Sequence[Group], threads: int, runs: int = 200) -> dict[str, float]:
    """End-to-end `Reranker.score` (tokenising included) on 10 real candidates of one question."""
    reranker = Reranker.load(model_dir, threads=threads)
    longest = max((g for g in groups if len(g.passages) == VAL_CANDIDATES), key=lambda g: sum(map(len, g.passages)))
    for _ in range(20):
        reranker.score(longest.question, longest.passages)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        reranker.score(longest.question, longest.passages)
        times.append((time.perf_counter() - t) * 1000.0)
    return {
        "threads": threads,
        "median_ms": round(statistics.median(times), 2),
        "p90_ms": round(float(np.percentile(times, 90)), 2),
        "runs": runs,
    }
