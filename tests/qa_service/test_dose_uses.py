"""The use a dose question names, read from the sentences that ask (qa_service.dose_uses)."""

from qa_service.dose_uses import asking_sentences, dose_uses


def test_a_dose_named_in_the_story_is_not_a_dose_asked_for_a_use():
    # session 39 (real documents dev10): refused because "the passages that give a dose are about other uses"
    question = (
        "my dad is getting one dose of radiation for lung cancer that spread to his rib. they warned the pain "
        "might get worse first - how often does that happen and can anything prevent it?"
    )

    assert dose_uses(question) == []
    assert asking_sentences(question).startswith("they warned")


def test_a_dose_asked_for_a_use_is_read_with_or_without_a_question_mark():
    assert dose_uses("zoledronic acid dose for hypercalcaemia of malignancy?") == ["hypercalcaemia of malignancy"]
    assert dose_uses("zol dose for HCM.") == ["HCM"]  # no question mark: the whole question asks
    assert dose_uses("Pt on dialysis. zol dose for HCM?") == ["HCM"]  # the story is left out, the asking kept


def test_a_question_whose_sentences_all_end_with_a_full_stop_is_read_whole():
    question = "zol dose (4 mg?) for HCM."

    assert asking_sentences(question) == question
