"""The extractive answer composer (default, offline, deterministic); the optional LLM composer is `qa_service.llm`.

Both return `Composed`: answer sentences, each tied to the passage it cites. `qa_service.render` turns them
into the answer text with attributions ("Per ESMO 2020, ...") and `[n]` markers; `qa_service.asked` reads what
the question asks for and what a sentence states.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import replace
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from ingest import Chunk, keyword_tokens
from ingest.chunking import TABLE_SEPARATOR, cells
from ingest.index import SearchIndex
from qa_service.asked import (
    ASKED_KINDS,
    QuestionPart,
    asked_kinds,
    asks_a_dose,
    kinds_stated_for,
    question_parts,
)
from qa_service.composed import AnswerSentence, Candidate, Composed
from qa_service.passage_text import (
    answer_worthy,
    drop_source_references,
    lead_in,
    list_items,
    normalised,
    opens_list,
    parenthesised_citers,
    repeats,
    row_owner,
    rows_above,
    table_caption,
    table_header,
    without_emphasis,
    without_list_label,
    without_reference_numbers,
    word_count,
)
from qa_service.render import sentence_passage
from qa_service.rerank import Reranker
from qa_service.retrieval import guideline_bodies, mentions_body, named_in
from qa_service.sentence_context import (
    antecedent,
    list_opener_before,
    points_back,
    without_dangling_introductions,
)
from qa_service.settings import AnswerSettings
from qa_service.vocabulary import defined_abbreviations, drug_classes, expand_query

HEADING_BONUS = 0.1

BODY_BONUS = 0.05
"""Added to a sentence naming the guideline body the question asks about ("when does USPSTF say to stop ...?"
is answered by "USPSTF recommends ... discontinued once a person has not smoked for 15 years"): a synthesis
page reports several bodies side by side, and the one asked for is the answer."""


KIND_BONUS = 0.1
"""Added to the score of a sentence stating the kind the question asks for: a quantity of its kind, or the drug,
test, clinician, harm, reason or strength it asks (`asked_kinds`, `stated_kinds`)."""
KIND_DEPTH = 30
"""Best-scored sentences read for quantities (reading costs about 0.1 ms a sentence that has a number)."""


POINTED_TO_ALLOWANCE = 0.5
"""Share of the word target an answer may go over to bring the sentence one of its sentences points back to
("In contrast, ..."): on the development sets, a quarter left 39 of 791 answers' sentences without it, a half 24,
for 0.6 more words an answer on average."""

SHORT_LIST_WORDS = 24
"""Words a list's items left out of an answer may have in all for the list to come whole with its opener, past the
answer's allowance: a list of symptoms or drugs of a word or two each reads as one sentence."""

FLOOR_SHARE = 0.6
"""Share of the best sentence's score another sentence needs to join the answer."""


def answer_floor(min_score: float, best: float) -> float:
    """The score a sentence needs to join an answer whose best sentence scores `best`."""
    return max(min_score, FLOOR_SHARE * best)


def _favour_the_kind_asked(question: str, scored: list[AnswerSentence], min_score: float) -> list[AnswerSentence]:
    """Lift the sentences stating the kind asked ("every 3 months" for "how often ...?", a drug for "which meds?"),
    by `KIND_BONUS` for each of the question's asks they state ("monthly for 2 years" for "how often and how long?").

    A guideline's paragraph on a practice often says why before it says how often; the sentence with
    the interval scores no closer to the question than its neighbours and was left out of the answer.
    Only sentences the lift can bring over the composer's floor are read.
    """
    kinds = asked_kinds(question)
    if not kinds or not scored:
        return scored
    reachable = answer_floor(min_score, scored[0].score) - KIND_BONUS
    top = scored[:KIND_DEPTH]
    lifted = False
    # "how often and for how long?" asks two things: a sentence stating an interval and a time answers both.
    groups = [found for pattern, found in ASKED_KINDS if pattern.search(question) and found & kinds]
    asked_words = question_keywords(question)
    for sentence in top:
        stated = kinds_stated_for(sentence.text, asked_words) & kinds
        if sentence.score >= reachable and stated:
            sentence.score += KIND_BONUS * max(1, sum(1 for group in groups if stated & group))
            lifted = True
    if not lifted:
        return scored
    top.sort(key=lambda s: (-s.score, s.source, s.position))
    return top + scored[KIND_DEPTH:]


@lru_cache(maxsize=4096)
def question_keywords(question: str) -> frozenset[str]:
    """The question's keyword tokens with its shorthand expanded (`expand_query`): read once per question by the
    composer's scoring, its lifts, its table-row filter and the attaching of table rows (`candidates`)."""
    return frozenset(keyword_tokens(expand_query(question)))


@lru_cache(maxsize=4096)
def class_credit(question: str) -> tuple[tuple[frozenset[str], frozenset[str]], ...]:
    """(a class's keywords, the drug's keywords) for each drug the question names (`drug_classes`), in its own words
    ("zoledronic acid") or through an abbreviation ("zometa", "zol")."""
    q_tokens = question_keywords(question)
    table = drug_classes()
    return tuple(
        (frozenset(keyword_tokens(cls)), drug)
        for word in q_tokens
        for drug, name in _drugs_by_first_word().get(word, ())
        if drug <= q_tokens
        for cls in table[name]
    )


@lru_cache(maxsize=1)
def _drugs_by_first_word() -> dict[str, tuple[tuple[frozenset[str], str], ...]]:
    """The keywords and name of every drug of `drug_classes`, by their first keyword."""
    out: dict[str, list[tuple[frozenset[str], str]]] = {}
    for name in drug_classes():
        tokens = keyword_tokens(name)
        if tokens:
            out.setdefault(tokens[0], []).append((frozenset(tokens), name))
    return {word: tuple(drugs) for word, drugs in out.items()}


def names_another_drug(tokens: set[str], asked: frozenset[str]) -> bool:
    """Whether a sentence's keywords name a drug of `drug_classes` other than those whose keywords are `asked`."""
    drugs = _drugs_by_first_word()
    return any(drug <= tokens and not drug <= asked for word in tokens for drug, _ in drugs.get(word, ()))


def class_share_of(classes: tuple[tuple[frozenset[str], frozenset[str]], ...], own: set[str]) -> frozenset[str]:
    """The keywords of the asked drugs whose class a sentence (its keywords `own`) names, speaking of no other drug:
    "Check serum creatinine before every intravenous bisphosphonate dose" names zoledronic acid's class, "A
    stimulant laxative such as senna" names senna's, not docusate's."""
    named = frozenset(t for class_tokens, drug in classes if class_tokens <= own for t in drug)
    if not named or names_another_drug(own, frozenset(t for _, drug in classes for t in drug)):
        return frozenset()
    return named


def _named_rows_only(scored: list[AnswerSentence], q_tokens: AbstractSet[str]) -> list[AnswerSentence]:
    """A lookup ("conversion factor for methadone") is answered by the rows it names, not the whole table.

    When the question names rows of a table by their first cell, the other rows of that passage's
    tables are left out; sentences that are not table rows stay.
    """
    named = {s.source for s in scored if s.table_header and _names_the_row(q_tokens, s.text)}
    if not named:
        return scored
    return [s for s in scored if not (s.table_header and s.source in named and not _names_the_row(q_tokens, s.text))]


def _names_the_row(q_tokens: AbstractSet[str], row: str) -> bool:
    """Whether the question names a table row by its first cell ("methadone" for "| Methadone | 4.7 |"), or by the
    drug that cell starts with ("fentanyl patch" for "| Fentanyl transdermal (in mcg/hr) | 2.4 |")."""
    label = keyword_tokens(cells(row)[0]) if row.strip() else []
    if not label:
        return False
    return set(label) <= q_tokens or (label[0] in q_tokens and label[0] in _drugs_by_first_word())


def names_a_row(q_tokens: AbstractSet[str], chunk: Chunk) -> bool:
    """Whether the question names one of the passage's table rows by its first cell (a header row does not count)."""
    lines = chunk.text.splitlines()
    for i, line in enumerate(lines):
        if not line.lstrip().startswith("|"):
            continue
        header = i + 1 < len(lines) and TABLE_SEPARATOR.match(lines[i + 1]) is not None
        if not header and _names_the_row(q_tokens, line):
            return True
    return False


def _names_a_heading(q_tokens: AbstractSet[str], chunk: Chunk) -> bool:
    """Whether the question names one of the passage's own headings in full ("cancer treatment-induced bone loss")."""
    for heading in chunk.local_headings():
        tokens = set(keyword_tokens(heading))
        if len(tokens) >= 2 and tokens <= q_tokens:
            return True
    return False


PART_FLOOR = 0.5
"""Share of the best sentence's score a sentence needs to answer a part of the question the answer left out."""
PART_KIND_BONUS = 0.5
"""Added to a sentence's share of a part's keywords when it states the kind of quantity the part asks for."""


MAX_EXTRA_PARTS = 2
"""Question parts past the first that each add words to the answer (`words_for`)."""


def words_for(question: str, max_words: int, share: float) -> int:
    """The answer's word target: `max_words`, and `share` of it more for each part of the question past the first
    (`question_parts`), up to `MAX_EXTRA_PARTS` more.

    "63F on oxycodone for years, agrees to taper - how fast, and how often do I see her?" needs room for each
    thing it asks. On the development sets (session 23) a quarter more per part gained key facts on six of seven
    real-document sets and bone dev6, none lost; the same mean length given to every answer lost some.
    """
    extra = min(max(len(question_parts(question)) - 1, 0), MAX_EXTRA_PARTS)
    return max_words + int(max_words * share * extra)


def sentences_for_left_out_parts(
    question: str, scored: list[AnswerSentence], chosen: list[AnswerSentence], candidates: list[Candidate]
) -> list[AnswerSentence]:
    """For each part of a question in several parts that no chosen sentence answers as well as another
    close sentence does, that sentence.

    "how often should pts on long-term opioid therapy be reassessed, and how often for acute pain pts still on
    opioids?": the best-scored sentences all answer the first part, and the "every 2 weeks" sentence for the
    second scored under the composer's floor. A part is answered by the sentence holding most of its
    keywords (read under its headings), and stating the kind of quantity it asks for; among the sentences
    within `PART_FLOOR` of the best. A sentence that needs the one before it ("These studies ...") or the
    line introducing its list is not taken alone.
    """
    parts = question_parts(question)
    if len(parts) < 2 or not scored:
        return []
    floor = PART_FLOOR * scored[0].score
    pool = [
        s
        for s in scored[:KIND_DEPTH]
        if s.score >= floor and not points_back(s.text) and lead_in(candidates[s.source].chunk, s.position) is None
    ]
    keywords: dict[int, frozenset[str]] = {}

    def answers(sentence: AnswerSentence, part: QuestionPart) -> float:
        if id(sentence) not in keywords:
            headings = " ".join(candidates[sentence.source].chunk.local_headings())
            keywords[id(sentence)] = frozenset(
                keyword_tokens(f"{sentence.text} {headings} {sentence.table_header or ''}")
            )
        share = len(part.keywords & keywords[id(sentence)]) / len(part.keywords)
        return share + (
            PART_KIND_BONUS if part.kinds and kinds_stated_for(sentence.text, part.keywords) & part.kinds else 0.0
        )

    extra: list[AnswerSentence] = []
    for part in parts:
        if not pool:
            break
        best = max(pool, key=lambda s: (answers(s, part), s.score))
        value = answers(best, part)
        if value > 0 and all(answers(s, part) < value for s in (*chosen, *extra)):
            extra.append(best)
    return extra


class ExtractiveComposer:
    """Picks the passages' sentences that answer the question, verbatim.

    Sentence score = cosine with the question (sentence vectors stored at ingest) blended with the
    share of question keywords the sentence (read under its headings) contains, plus a bonus for
    the top passages and one for a passage whose own heading the question names in full ("zol dose
    for cancer treatment-induced bone loss"). The answer leads with the passage holding the best
    sentence, so a shared drug's schedule for another indication cannot come first.
    """

    name = "extractive"

    def __init__(
        self,
        index: SearchIndex,
        settings: AnswerSettings,
        *,
        max_passages: int | None = None,
        embed: Any | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.index = index
        self.settings = settings
        self.max_passages = max_passages or settings.max_passages
        self._embed = embed  # fallback when the index stores no sentence vectors
        self.reranker = reranker  # rescoring of the best sentences (settings.sentence_rerank)
        self._citing: dict[str, bool] = {}

    def quoted(self, chunk: Chunk, text: str) -> str:
        """A sentence of `chunk` as the answer quotes it: without the source's reference markers ("[12]", and
        "(166)" in a document citing in parentheses), its list label or its Markdown emphasis. Every sentence an
        answer takes is read so: a scored one, a list's opener and a sentence pointed back to."""
        clean = without_emphasis(without_list_label(drop_source_references(text)))
        return without_reference_numbers(clean) if self._cites_in_parentheses(chunk.doc_id) else clean

    @cached_property
    def _chunks_by_doc(self) -> dict[str, list[Chunk]]:
        """Each document's passages, grouped once at the first question (no text is read)."""
        grouped: dict[str, list[Chunk]] = {}
        for chunk in self.index.chunks:
            grouped.setdefault(chunk.doc_id, []).append(chunk)
        return grouped

    def _cites_in_parentheses(self, doc_id: str) -> bool:
        """Whether a document's reference numbers in parentheses leave its quoted sentences (`parenthesised_citers`),
        judged on all its passages when it is first quoted, and remembered: a large index is not read at start-up."""
        known = self._citing.get(doc_id)
        if known is None:
            chunks = self._chunks_by_doc.get(doc_id, [])
            known = self._citing[doc_id] = doc_id in parenthesised_citers(chunks)
        return known

    def _sentence_vectors(self, candidate: Candidate) -> np.ndarray | None:
        vectors = self.index.chunk_sentence_vectors(candidate.row)
        if vectors is not None and len(vectors) == len(candidate.chunk.sentences):
            return np.asarray(vectors)
        if self._embed is not None and candidate.chunk.sentences:
            return np.asarray(self._embed(candidate.chunk.sentence_texts()))
        return None

    @cached_property
    def _long_forms(self) -> dict[str, frozenset[str]]:
        """The keyword of each abbreviation the index defines in parentheses, with its long form's keywords
        (`defined_abbreviations`): "fda" -> {"food", "drug", "administr"}."""
        out: dict[str, frozenset[str]] = {}
        for short, longer in defined_abbreviations(c.text for c in self.index.chunks).items():
            key, words = keyword_tokens(short), frozenset(keyword_tokens(longer))
            if len(key) == 1 and len(words) >= 2 and key[0] not in words:
                out[key[0]] = words
        return out

    def score_sentences(
        self, question: str, query_vector: np.ndarray, candidates: list[Candidate], *, max_passages: int | None = None
    ) -> list[AnswerSentence]:
        """Every sentence of the top passages (`max_passages`, default the composer's) with its score, best first."""
        q_tokens = question_keywords(question)
        # "FDA-approved" is said by a sentence writing "Food and Drug Administration": the index's own definitions.
        spelled = {t: self._long_forms[t] for t in q_tokens if t in self._long_forms}
        classes = class_credit(question)
        bodies = named_in(question, guideline_bodies()[0])  # "when does USPSTF say ...": sentences naming it answer
        scored: list[AnswerSentence] = []
        limit = max_passages or (
            min(self.max_passages, self.settings.dose_max_passages) if asks_a_dose(question) else self.max_passages
        )
        window = len(candidates)
        for i, c in enumerate(candidates):
            limit -= not (c.attached or c.only_before)
            if limit < 0:
                window = i
                break
        for source, candidate in enumerate(candidates[:window]):
            if candidate.only_before:
                continue
            texts = candidate.chunk.sentence_texts()
            vectors = self._sentence_vectors(candidate)
            # A sentence is read under its headings: "4 mg every 6 months" in a section on treatment-
            # induced bone loss answers a question about that, the same dose under bone metastases not.
            context = set(keyword_tokens(" ".join(candidate.chunk.local_headings())))
            named = _names_a_heading(q_tokens, candidate.chunk)
            chunk_text = candidate.chunk.text
            titles = {normalised(t) for t in (candidate.chunk.title, *candidate.chunk.section)}
            for position, text in enumerate(texts):
                start = candidate.chunk.sentences[position][0]
                if not answer_worthy(text, after=chunk_text[:start]) or normalised(text) in titles:
                    continue  # a cover page's or a heading's words repeated as a line say nothing
                cosine = float(vectors[position] @ query_vector) if vectors is not None else 0.0
                header, carried = None, False
                if text.startswith("|"):
                    above = rows_above(candidate.chunk, start)
                    header = table_header(candidate.chunk, start, above)
                    if (owner := row_owner(candidate.chunk, start, above)) is None:
                        continue  # a dose whose drug is in another passage
                    if carried := bool(owner):
                        text = f"| {owner} | {' | '.join(cells(text))} |"  # "Nabilone; >30 kg: 1 mg q8-12h"
                # A table row is read under its header: "| Methadone | 4.7 |" answers "conversion factor".
                own = set(keyword_tokens(text)) | set(keyword_tokens(header or ""))
                s_tokens = own | context
                if header is not None:  # and under its caption, as a sentence under its headings
                    s_tokens |= set(keyword_tokens(table_caption(candidate.chunk, start)))
                s_tokens |= {short for short, longer in spelled.items() if longer <= s_tokens}
                overlap = len(q_tokens & s_tokens) / len(q_tokens) if q_tokens else 0.0
                # A sentence naming the class of a drug the question names is about that drug too: "Check serum
                # creatinine before every intravenous bisphosphonate dose" for "need creatinine before each zometa?".
                named_class = class_share_of(classes, own) if classes else frozenset()
                class_share = 0.35 * len(q_tokens & (named_class - s_tokens)) / len(q_tokens) if q_tokens else 0.0
                rank = candidate.rank
                bonus = (0.08 if rank == 0 else 0.04 if rank == 1 else 0.0) + (HEADING_BONUS if named else 0.0)
                if header and _names_the_row(q_tokens, text):  # "conversion factor for methadone": its row
                    bonus += HEADING_BONUS
                if any(mentions_body(f"{header or ''} {text}", body) for body in bodies):
                    bonus += BODY_BONUS
                score = 0.65 * cosine + 0.35 * overlap + bonus + class_share
                clean = self.quoted(candidate.chunk, text)
                scored.append(
                    AnswerSentence(
                        text=clean,
                        source=source,
                        score=score,
                        position=position,
                        table_header=header,
                        carried=carried,
                        class_share=class_share,
                    )
                )
        scored.sort(key=lambda s: (-s.score, s.source, s.position))
        return scored

    def rescore(self, question: str, scored: list[AnswerSentence], candidates: list[Candidate]) -> list[AnswerSentence]:
        """The best sentences rescored by the cross-encoder, each read under its passage's headings.

        Its logits, min-max scaled over the rescored sentences, add up to `sentence_rerank_weight` to
        their scores: the encoder reads "Psychological therapy may be delivered ... remotely" as the
        answer to "can CBT be done over the internet?", where the question's words are not the sentence's.
        """
        assert self.reranker is not None
        depth = self.settings.sentence_rerank_depth
        top = scored[:depth]
        if len(top) < 2:
            return scored
        passages = [sentence_passage(candidates[s.source].chunk, s.text, s.table_header) for s in top]
        logits = self.reranker.score(question, passages, max_length=self.settings.sentence_rerank_max_length).tolist()
        low, high = min(logits), max(logits)
        weight = self.settings.sentence_rerank_weight
        for sentence, logit in zip(top, logits, strict=True):
            sentence.score += weight * ((logit - low) / (high - low) if high > low else 0.0)
        top.sort(key=lambda s: (-s.score, s.source, s.position))
        return top + scored[depth:]

    def compose(
        self, question: str, query_vector: np.ndarray, candidates: list[Candidate], *, max_words: int
    ) -> Composed:
        """The answer: the best sentences within `max_words`, more for a question in several parts (`words_for`).

        The evidence gate weighs the answer chosen within `weighed_words` (`Composed.weighed`; `max_words` if
        fewer): the words past that length, for a question's further parts or a longer answer, show more of what
        answers it, and do not make the evidence look stronger.
        """
        scored = self.score_sentences(question, query_vector, candidates)
        if not scored:
            return Composed(sentences=[], composer=self.name)
        scored = _named_rows_only(scored, question_keywords(question))
        # The evidence gate weighs the best sentence's own score, fitted without the cross-encoder's share or the
        # credit for naming a drug's class.
        sentence_score = max(s.score - s.class_share for s in scored)
        if self.reranker is not None and self.settings.sentence_rerank:
            scored = self.rescore(question, scored, candidates)
        scored = _favour_the_kind_asked(question, scored, self.settings.min_sentence_score)
        words = words_for(question, max_words, self.settings.part_words_share)
        chosen = self._choose(question, scored, candidates, words)
        weigh_at = min(max_words, self.settings.weighed_words)
        weighed = self._choose(question, scored, candidates, weigh_at) if words > weigh_at else None
        return Composed(sentences=chosen, composer=self.name, best_sentence_score=sentence_score, weighed=weighed)

    def _choose(
        self, question: str, scored: list[AnswerSentence], candidates: list[Candidate], max_words: int
    ) -> list[AnswerSentence]:
        """The answer's sentences, in reading order, from the `scored` ones (best first) within `max_words`."""
        best = scored[0].score
        # The floor is set by the best score without class credit: the credit lifts a sentence to its peers, it does
        # not raise the bar for the others.
        floor = answer_floor(self.settings.min_sentence_score, best - scored[0].class_share)
        chosen: list[AnswerSentence] = []
        seen: set[str] = set()
        words = 0

        def take(sentence: AnswerSentence, limit: int = max_words) -> None:
            nonlocal words
            key = normalised(sentence.text)
            if key in seen or any(key in s or s in key for s in seen):
                return
            if any(repeats(sentence.text, c.text) for c in chosen):  # the same sentence in other words
                return
            length = word_count(sentence.text)
            if chosen and words + length > limit:
                return
            chosen.append(sentence)
            seen.add(key)
            words += length

        # A short recommendation that holds the best sentence is kept whole: its sentences qualify each other.
        lead = [s for s in scored if s.source == scored[0].source]
        if sum(word_count(s.text) for s in lead) <= max_words // 2:
            for sentence in sorted(lead, key=lambda s: s.position):
                if sentence.score >= 0.5 * best:
                    take(sentence)
        for sentence in scored:
            if sentence.score < floor and chosen:
                break
            take(sentence)
        # A sentence that points back ("This regimen is preferred ...") brings the sentence it points to. For one
        # that opens its passage, that is the last sentence of the passage before it in the document.
        by_place = {(s.source, s.position): s for s in scored}
        pointed_to: list[tuple[AnswerSentence, AnswerSentence]] = []  # (the sentence before, the one pointing back)
        for sentence in list(chosen):
            if not points_back(sentence.text):
                continue
            before = by_place.get((sentence.source, sentence.position - 1))
            if before is None and sentence.position == 0:
                before = antecedent(sentence, candidates, by_place, self.quoted)
                if before is not None:
                    pointed_to.append((before, sentence))
            if (
                before is not None
                and before not in chosen
                and words + word_count(before.text) <= max_words * (1 + POINTED_TO_ALLOWANCE)
            ):
                chosen.append(before)
                seen.add(normalised(before.text))
                words += word_count(before.text)
        # A list item brings the sentence that introduces its list ("... require radiation if any of the following
        # are true:"): "A painful destruction of a vertebral body occurred." means nothing without it. An item
        # opening a nested list brings its own opener in turn, and a passage that opens inside a list brings the
        # opener ending the passage before ("This clinical practice guideline is not" ... "applicable to" ...
        # "management of cancer-related pain": the item alone says the reverse).
        list_cut: list[tuple[AnswerSentence, AnswerSentence]] = []  # (opener ending the passage before, its item)
        pending = list(chosen)
        while pending:
            sentence = pending.pop(0)
            chunk = candidates[sentence.source].chunk
            place = lead_in(chunk, sentence.position)
            found: AnswerSentence | None
            if place is not None:
                if any(c.source == sentence.source and c.position == place for c in chosen):
                    continue
                found = AnswerSentence(
                    text=self.quoted(chunk, chunk.sentence_texts()[place]), source=sentence.source, position=place
                )
            else:
                found = list_opener_before(sentence, candidates, by_place, self.quoted)
                if found is None:
                    continue
                list_cut.append((found, sentence))
                if any(c.source == found.source and c.position == found.position for c in chosen):
                    continue
            if words + word_count(found.text) <= max_words * (1 + POINTED_TO_ALLOWANCE):
                chosen.append(found)
                words += word_count(found.text)
                pending.append(found)
        # A sentence introducing a list ("The presence of three or four of the following adverse factors predicts
        # ...:") brings its items, as an item brings its opener: the list is what it announces.
        for sentence in list(chosen):
            chunk = candidates[sentence.source].chunk
            if not opens_list(chunk, sentence.position):
                continue
            # An item too short to be scored ("Fatigue.") is read from its passage.
            items = [
                by_place.get((sentence.source, position))
                or AnswerSentence(
                    text=self.quoted(chunk, chunk.sentence_texts()[position]), source=sentence.source, position=position
                )
                for position in list_items(chunk, sentence.position)
            ]
            missing = [
                item
                for item in items
                if not any(c.source == item.source and c.position == item.position for c in chosen)
            ]
            # A list of a few words an item ("Fatigue.", "Purpura.", "Enlarged tongue.") is one sentence cut up: it
            # comes whole, past the allowance if need be, unweighed by the gate there.
            short = sum(word_count(item.text) for item in missing) <= SHORT_LIST_WORDS
            for item in missing:
                over = words + word_count(item.text) > max_words * (1 + POINTED_TO_ALLOWANCE)
                if over and not short:
                    break
                chosen.append(replace(item, unweighed=True) if over else item)
                seen.add(normalised(item.text))
                words += word_count(item.text)
        # A question in several parts gets an answer to each part the chosen sentences leave out.
        if self.settings.answer_every_part:
            for sentence in sentences_for_left_out_parts(question, scored, chosen, candidates):
                if words + word_count(sentence.text) <= max_words + max_words // 4:  # a little over the target
                    take(sentence, max_words + max_words // 4)
                else:  # further over: shown, but the gate judges the answer without it (a longer answer would
                    # look better supported: its numbers raise the quantity coverage)
                    take(replace(sentence, unweighed=True), int(max_words * (1 + POINTED_TO_ALLOWANCE)))
        # Reading order: the passage holding the best sentence first, then the others by rank;
        # sentences as written within each passage.
        lead_source = scored[0].source
        chosen.sort(key=lambda s: (s.source != lead_source, s.source, s.position))
        for before, sentence in pointed_to:  # from the passage before: read just before the sentence pointing back
            if before in chosen and sentence in chosen:
                chosen.remove(before)
                chosen.insert(chosen.index(sentence), before)
        for cut_opener, item in list_cut:  # a list the chunker cut: its opening, and what opens that, read before it
            if cut_opener in chosen and item in chosen:
                block = [s for s in chosen if s.source == cut_opener.source and s.position <= cut_opener.position]
                for sentence in block:
                    chosen.remove(sentence)
                at = min(chosen.index(s) for s in chosen if s.source == item.source)
                chosen[at:at] = block
        return without_dangling_introductions(chosen, candidates)
