"""The cross-encoder's learning-rate schedule: by the clock, or by steps when a run's steps are fixed."""

from __future__ import annotations

import pytest

from train.reranker import learning_rate, progress


def test_a_run_of_fixed_steps_decays_over_its_steps_however_slow_the_machine() -> None:
    budget = 200 * 60.0  # a generous clock budget, as a run of fixed steps is given
    # Half the steps done after 10 minutes: half-way, not 5% of the way (the clock alone said 0.05).
    assert progress(600.0, budget, 938, 1876) == pytest.approx(0.5)
    assert progress(600.0, budget, 1876, 1876) == pytest.approx(1.0)  # the last step ends the run
    # The learning rate at the last step is the schedule's floor, not four fifths of the peak.
    assert learning_rate(3e-4, progress(2000.0, budget, 1875, 1876)) < 0.03 * 3e-4


def test_without_fixed_steps_the_clock_alone_says_how_far_training_is() -> None:
    assert progress(1500.0, 3000.0, 10_000) == pytest.approx(0.5)
    assert progress(3000.0, 3000.0, 5) == pytest.approx(1.0)
    assert learning_rate(3e-4, 0.5) == pytest.approx(1.5e-4)
    assert learning_rate(3e-4, 0.0) == pytest.approx(3e-6)  # the warm-up starts low
