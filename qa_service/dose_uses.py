"""Whether the doses an answer quotes are for the use a dose question names ("zoledronic acid dose for
hypercalcaemia of malignancy"): the use is what follows "for" or "in" in a clause asking a dose, weighed by the
index's keyword IDF. The evidence gate refuses an answer whose every dosing passage is about another use
(`DoseUses.unstated`); the pipeline puts other uses' doses behind the asked use's (`DoseUses.for_other_uses`), and a
passage lacking the word the use names its condition by ("pain" in "cancer pain", `DoseUses.head`) is another use's."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from ingest import keyword_tokens
from qa_service.asked import QUESTION_BREAK, asks_a_dose
from qa_service.dose_checks import (
    NOT_ASKED,
    USE_AFTER,
    USE_UNMATCHED_SHARE,
    dosing_sources,
    excluded_uses,
    sources_dosing_asked_drugs,
    sources_dosing_named_drugs,
)
from qa_service.gate_features import QUANTITY_WORDS, question_terms, silent_terms, term_weight
from qa_service.population import question_population

if TYPE_CHECKING:
    from ingest.chunking import Chunk
    from qa_service.composed import Candidate, Composed


_SENTENCE = re.compile(r"(?<=[.?!])\s+")


def asking_sentences(question: str) -> str:
    """The sentences of a question that ask, when one ends with a question mark: a sentence ending with a full stop
    tells the story ("my dad is getting one dose of radiation for lung cancer that spread to his rib. ... how often
    does the pain flare?"): the dose it names is not one asked for that use. A question with no question mark, or
    none ending a sentence, is read whole ("zol dose for HCM.")."""
    asking = " ".join(s for s in _SENTENCE.split(question.strip()) if not s.endswith(".")) if "?" in question else ""
    return asking or question  # no sentence asks ("zol dose (4 mg?) for HCM."): read whole


def dose_clauses(question: str) -> list[str]:
    """The clauses of a question that ask a dose, in its sentences that ask (`asking_sentences`)."""
    asking = asking_sentences(question)
    return [clause for clause in QUESTION_BREAK.split(NOT_ASKED.sub(" ", asking)) if asks_a_dose(clause)]


def dose_uses(question: str) -> list[str]:
    """The uses a dose question names: what follows "for" or "in" in a clause asking a dose ("zoledronic acid
    dose for hypercalcaemia of malignancy" -> "hypercalcaemia of malignancy")."""
    return [m.group(1).strip() for clause in dose_clauses(question) for m in USE_AFTER.finditer(clause)]


class OtherUses(NamedTuple):
    """The candidates whose quoted doses are for another use than the one asked (`DoseUses.for_other_uses`)."""

    sources: frozenset[int]
    """Their positions: the answer reads them after the asked use's doses, and their citations say so."""
    every: str
    """The use asked, when the drug the question names is dosed only for other uses (its table rows too, then
    among `sources`): the answer stands in its order, each of its citations noted; empty otherwise. The pipeline
    cautions an answer whose every dosing citation is noted so (`pipeline._doses_only_noted`, session 45; measured
    on the validation sets alone in session 35 and not kept then)."""


NO_OTHER_USES = OtherUses(frozenset(), "")

# Where a use goes on to qualify its condition: "hypercalcaemia | of malignancy", "pain | in a 12 yo".
_QUALIFIER = re.compile(r"\b(?:of|with|in|after|from|during|due|on|for|at|while|when|who|that|and|or)\b|[,;:?()]")
# A use's last word naming a patient, not a condition ("dose in kids", "for pts on dialysis").
_PERSON_WORDS = frozenset(keyword_tokens("patient patients pt pts people person adult adults man men woman women"))


def _same_stem(a: str, b: str) -> bool:
    """Two keyword stems of one word: equal, or a long one and itself with one more letter ("metastases" stems to
    "metastas", "metastasis" to "metastasi")."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return len(short) >= 5 and len(long) == len(short) + 1 and long.startswith(short)


class DoseUses:
    """The dose-use checks over one index: its keyword IDF (and the largest), and which words stand for an index
    word (`is_shorthand`, the gate's memo)."""

    def __init__(self, idf: dict[str, float], max_idf: float, is_shorthand: Callable[[str], bool]) -> None:
        self.idf = idf
        self.max_idf = max_idf
        self.is_shorthand = is_shorthand

    def unstated(
        self, question: str, composed: Composed, candidates: Sequence[Candidate], silent: frozenset[str]
    ) -> str:
        """The use a dose question names whose dose the answer does not give: empty, or the use as written.

        The use is what follows "for" or "in" in a clause that names a dose ("zoledronic acid dose for
        hypercalcaemia of malignancy"). It is unstated when most of it (`USE_UNMATCHED_SHARE` of its words'
        IDF weight) is found in no passage whose sentences give the answer's doses, while a passage retrieved
        beside them speaks of what is missing: the guidelines know the use, and the dose quoted comes from a
        passage about another ("4 mg every 12 weeks" for bone metastases; "dmab dose for myeloma bone
        disease?" answered with the breast cancer schedule). A use no passage retrieved speaks of is left to
        the coverage features.
        """
        uses = dose_uses(question)
        if not uses or not composed.sentences:
            return ""
        dosing = dosing_sources(composed)
        if not dosing:
            return ""
        ignore = QUANTITY_WORDS | silent
        dosing_words = set(keyword_tokens(" ".join(candidates[i].chunk.embedding_text() for i in dosing)))
        other_words = set(
            keyword_tokens(
                " ".join(
                    c.chunk.embedding_text()
                    for i, c in enumerate(candidates)
                    if i not in dosing and not c.only_before  # read for one sentence, not retrieved
                )
            )
        )
        asked_dosing = sources_dosing_asked_drugs(question, composed, dosing)
        for use in uses:
            weighed = self.weights(use, ignore)
            excluded = all(self.excludes(candidates[i].chunk.text, weighed) for i in asked_dosing)
            if weighed and asked_dosing and excluded:
                return use  # every passage dosing the asked drug says its doses are not for this use
            unmatched = [(g, w) for g, w in weighed if not g & dosing_words]
            share = sum(w for _, w in unmatched)
            missing_elsewhere = any(g & other_words for g, _ in unmatched)
            if weighed and share > USE_UNMATCHED_SHARE * sum(w for _, w in weighed) and missing_elsewhere:
                return use
        return ""

    def head(self, use: str, ignore: frozenset[str]) -> frozenset[str]:
        """The word a use names its condition by, with its alternatives: the last keyword the index knows before
        the use goes on to qualify it ("cancer pain" -> pain; "hypercalcaemia of malignancy" -> hypercalcaemia);
        empty when that word names a patient ("dose in kids": the population checks read those) or nothing is left.

        A passage lacking it doses another condition whatever else the two share: dronabinol's "5 mg/m2 ...
        before chemotherapy" comes from a passage on nausea in cancer treatment, which holds "cancer" (two thirds
        of "cancer pain"'s weight) and never "pain".
        """
        core = _QUALIFIER.split(use, maxsplit=1)[0]
        groups = [g for g in question_terms(core, ignore=ignore) if any(t in self.idf for t in g)]
        if not groups or question_population(" ".join(sorted(groups[-1]))) or groups[-1] & _PERSON_WORDS:
            return frozenset()
        return groups[-1]

    def weights(self, use: str, ignore: frozenset[str]) -> list[tuple[frozenset[str], float]]:
        """The words of a dose question's use that the index knows, each with its IDF weight: "myeloma" in
        "myeloma bone disease" is the use; "bone" and "disease" are found in any bone-metastasis passage."""
        groups = [g for g in question_terms(use, ignore=ignore) if any(t in self.idf for t in g)]
        return [(g, term_weight(g, self.idf, self.max_idf)) for g in groups]

    def for_other_uses(self, question: str, composed: Composed, candidates: Sequence[Candidate]) -> OtherUses:
        """The candidates whose quoted doses of the asked drug are for another use than the one a dose question
        names, when the answer also quotes the drug's dose from a passage about that use: the answer puts them
        behind it (`QAPipeline`), so a clinician reads the asked use's dose first.

        "prolia dose for AI induced bone loss?" quoted CCO/ASCO's 120 mg every 4 weeks for bone metastases before
        ESMO's 60 mg every 6 months for treatment-induced bone loss. A passage is about another use when its own
        headings and text (not its document's title, which every passage of a chapter on bone metastases and
        treatment-induced bone loss shares) hold less than a quarter of the use's IDF weight
        (1 - `USE_UNMATCHED_SHARE`), lack the word the use names its condition by (`head`), or when it excludes
        the use (`excluded_uses`: "much less intensive than those used for bone metastases"); the others are about
        it. Only passages dosing the asked drug move (any dosing passage, when the question names no drug:
        `sources_dosing_asked_drugs`), never one quoted only for table rows (a row seldom repeats what its table
        is for), and nothing moves when a part of the question asks a dose for no use ("max single IV dose, and
        dose limit in hepatic impairment?"). When every passage dosing the drug the question names is another
        use's, table rows included, they are all returned with the use (`OtherUses.every`) and nothing moves.

        Dropping them instead was measured and not kept: on the validation split one bone question lost its key
        fact (key facts 0.870 -> 0.868).
        """
        if any(not USE_AFTER.search(c) for c in dose_clauses(question)):  # a part asking a dose for no use
            return NO_OTHER_USES
        uses = dose_uses(question)
        if not uses or not composed.sentences:
            return NO_OTHER_USES
        dosing = dosing_sources(composed)
        named = sources_dosing_named_drugs(question, composed, dosing)
        if len(dosing) < 2 and not named:
            return NO_OTHER_USES
        asked_dosing = named or dosing  # as `sources_dosing_asked_drugs`, without reading the drugs again
        rows = {i for i in dosing if all(x.table_header for x in composed.sentences if x.source == i)}
        ignore = QUANTITY_WORDS | silent_terms(question, self.idf, self.is_shorthand)
        for use in uses:
            weighed = self.weights(use, ignore)
            if not weighed:
                continue
            head = self.head(use, ignore)
            other = {i for i in asked_dosing if self._about_another_use(candidates[i].chunk, weighed, head)}
            if named and named <= other:  # the named drug's every dose (its table rows too) is another use's
                return OtherUses(frozenset(other), use)
            if asked_dosing - (other - rows):
                return OtherUses(frozenset(other - rows), "")
        return NO_OTHER_USES

    def _about_another_use(
        self, chunk: Chunk, weighed: list[tuple[frozenset[str], float]], head: frozenset[str]
    ) -> bool:
        """Whether a passage's own headings and text (not its document's title) are about another use than the
        one weighed: they hold less than a quarter of its weight, lack its head word (`head`), or exclude it."""
        own = " ".join([*(h for h in chunk.section if h != chunk.title), chunk.text])
        words = set(keyword_tokens(own))
        held = sum(w for g, w in weighed if g & words)
        total = sum(w for _, w in weighed)
        lacks_head = bool(head) and not any(_same_stem(h, w) for h in head for w in words)
        return held < (1 - USE_UNMATCHED_SHARE) * total or lacks_head or self.excludes(chunk.text, weighed)

    @staticmethod
    def excludes(text: str, weighed: list[tuple[frozenset[str], float]]) -> bool:
        """Whether the passage says its doses are not for the use (`excluded_uses`): the words after "than those
        used for" or "not indicated for" hold most of the use's weight (`USE_UNMATCHED_SHARE`).

        ESMO's schedules for treatment-induced bone loss "are much less intensive than those used for bone
        metastases": the passage names the use a question asks ("denosumab dose for bone mets?") only to say its
        60 mg is not that dose, and its title (a chapter on bone metastasis) names it too.
        """
        total = sum(w for _, w in weighed)
        for excluded in excluded_uses(text):
            words = set(keyword_tokens(excluded))
            if total and sum(w for g, w in weighed if g & words) >= USE_UNMATCHED_SHARE * total:
                return True
        return False
