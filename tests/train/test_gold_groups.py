"""The reranker's groups from the development question sets: what is an answer sentence, what never goes in."""

from __future__ import annotations

from pathlib import Path

from train.gold_groups import DEVELOPMENT_SETS, holds_fact

GOLD = Path(__file__).resolve().parents[2] / "eval" / "gold"


def test_a_sentence_holds_a_fact_when_it_states_one_alternative_case_and_spacing_aside():
    facts = [["8 Gy"], ["single fraction", "1 fraction"]]
    assert holds_fact("Radiotherapy > Dose\nA single  8 gy dose.", facts)
    assert holds_fact("Give it in 1 Fraction.", facts)
    assert not holds_fact("Give 20 Gy in 5 fractions.", facts)


def test_only_development_sets_train_the_reranker_never_a_held_out_one():
    names = {name for name, _ in DEVELOPMENT_SETS}
    held_out = {p.stem for p in GOLD.glob("*heldout*.jsonl")}

    assert held_out and not names & held_out
    assert all((GOLD / f"{name}.jsonl").is_file() for name in names)
