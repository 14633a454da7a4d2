"""QAPipeline: retrieve, compose, check, and decide whether to answer."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ingest import Chunk, Embedder, IngestError, load_embedder, open_index
from ingest.chunking import pages_of
from ingest.index import SearchIndex
from ingest.pipeline import configured_model_name
from qa_service.abstention import Evidence, EvidenceGate
from qa_service.candidates import CandidateReader
from qa_service.citation_notes import citation_notes
from qa_service.compose import ExtractiveComposer
from qa_service.composed import AnswerComposer, Composed
from qa_service.dose_checks import (
    asked_doses_first,
    asked_items_first,
    asked_sentences_first,
    doses_not_for_children,
    drugs_dosed_in_question,
    question_asks_a_dose,
    sentence_dosed_drugs,
    states_dose,
)
from qa_service.errors import BadRequestError, NotFoundError
from qa_service.judge import AnswerJudge, JudgeModel, default_judge_dir
from qa_service.llm import LLMComposer
from qa_service.llm_client import build_chat_model
from qa_service.render import attribution, render, sentence_passage
from qa_service.rerank import Reranker, RerankerError
from qa_service.retrieval import Hit, Retriever, abbreviate_bodies
from qa_service.schemas import (
    AskRequest,
    AskResponse,
    Citation,
    PageRef,
    Passage,
    SearchRequest,
    SearchResponse,
)
from qa_service.settings import AnswerSettings, RetrievalSettings, Settings
from qa_service.vocabulary import Speller

log = logging.getLogger("guideline_qa.pipeline")

OTHER_GUIDELINES = "the answer is from other guidelines"
"""The end of the reason given with an answer to a question naming a guideline body the index lacks."""

DOSES_ELSEWHERE = (
    "the question asks a drug's dose, and every passage quoted for a dose gives another drug's, another use's or "
    "another patient's (see the citations' notes)"
)


def _doses_only_noted(question: str, composed: Composed, notes: dict[int, str]) -> bool:
    """Whether a question asking a drug's dose is answered only with doses its citations note as another drug's,
    another use's or another population's: "ondansetron dose for cancer pain?" quoted ondansetron's antiemetic
    doses and dexamethasone's, every citation noted, at 0.90 and without caution. The answer stands, cautioned."""
    if not notes or not drugs_dosed_in_question(question) or not question_asks_a_dose(question):
        return False  # "how long after the last dose should the first bup dose be given?" asks a time
    dosing = {s.source for s in composed.sentences if sentence_dosed_drugs(s) or states_dose(s.text)}
    return bool(dosing) and dosing <= notes.keys()


UNSPOKEN_PREGNANCY = "no passage quoted speaks of it (for a drug, of that drug in it): it may not hold in pregnancy"
"""The end of the reason given with an answer to a question about pregnancy from passages that never speak of it."""

ABSTAIN_TEXT = "The guidelines in this corpus do not cover this question."


def _also(reason: str | None, more: str) -> str:
    """A reason with one more clause after it ("...; the question names WHO ..."), or that clause alone."""
    return f"{reason}; {more}" if reason else more


def _bodies(names: frozenset[str]) -> str:
    """Guideline bodies a question names, as a reason shows them: "ESMO, WHO"."""
    return ", ".join(sorted(n.upper() for n in names))


SOURCE_MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".markdown": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


@lru_cache(maxsize=4)
def _cross_encoder(model_dir: Path | None, threads: int) -> Reranker:
    """A cross-encoder folder (the reranker's or the judge's), loaded once per folder and thread count."""
    return Reranker.load(model_dir, threads=threads)


def load_reranker(model_dir: Path | None, threads: int) -> Reranker:
    """The reranker (the packaged model by default), loaded once per folder and thread count.

    A missing or damaged model is an error, not a silent fallback: the gate's weights were fitted
    with its scores (set GQA_RETRIEVAL__RERANK=false to run without it, knowingly).
    """
    try:
        return _cross_encoder(model_dir, threads)
    except RerankerError as exc:
        raise IngestError(f"{exc} (or set GQA_RETRIEVAL__RERANK=false to serve without the reranker)") from exc


def load_judge(settings: AnswerSettings, model: JudgeModel | None) -> AnswerJudge | None:
    """The learned judge when it is on and the gate file has weights for it, else None.

    A missing or damaged judge model is an error, as for the reranker: the gate file says one was fitted.
    """
    if not settings.judge or model is None:
        return None
    folder = settings.judge_model or default_judge_dir()
    threads = settings.judge_threads or min(os.cpu_count() or 1, 4)
    try:
        return AnswerJudge.checked(model, _cross_encoder(folder, threads), folder)
    except RerankerError as exc:
        raise IngestError(f"{exc} (or set GQA_ANSWER__JUDGE=false to serve without the judge)") from exc


def source_media_type(file: str) -> str | None:
    """The media type a source file is served with; None for files that are not one document (JSONL)."""
    return SOURCE_MEDIA_TYPES.get(Path(file).suffix.lower())


def provenance(chunk: Chunk) -> dict[str, Any]:
    """What a passage and a citation both say of where a chunk comes from: document, section, page, strength."""
    strength = chunk.metadata.get("strength") if chunk.rec_id else None
    return {
        "chunk_id": chunk.chunk_id,
        "doc_id": chunk.doc_id,
        "rec_id": chunk.rec_id,
        "title": chunk.title,
        "section": " > ".join(chunk.section),
        "issuing_body": chunk.issuing_body,
        "year": chunk.year,
        "url": chunk.url,
        "page": chunk.page_start,
        "page_end": chunk.page_end,
        "page_label": chunk.page_label,
        "strength": str(strength) if strength else None,
    }


class QAPipeline:
    """Everything needed to answer over one loaded index."""

    def __init__(
        self,
        index: SearchIndex,
        embedder: Embedder,
        settings: Settings,
        *,
        chat_model: Any = None,
        reranker: Reranker | None = None,
        judge: AnswerJudge | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        if reranker is None and (settings.retrieval.rerank or settings.answer.sentence_rerank):
            reranker = load_reranker(settings.retrieval.rerank_model, settings.retrieval.rerank_threads)
        self.retriever = Retriever(index, embedder, settings.retrieval, reranker)
        self.extractive = ExtractiveComposer(index, settings.answer, embed=embedder.embed, reranker=reranker)
        self.chat_model = chat_model
        self.gate = EvidenceGate(index, embedder.count_tokens)
        self.judge = judge if judge is not None else load_judge(settings.answer, self.gate.model.judge)
        self.reader = CandidateReader(index)
        self.speller = Speller.from_texts(c.embedding_text() for c in index.chunks)
        # Called with (question, evidence, composed any sentence) on every ask: how the gate is refitted.
        self.on_evidence: Callable[[str, Evidence, bool], None] | None = None
        self._hidden: frozenset[int] = frozenset()  # see `hiding`

    @classmethod
    def from_settings(cls, settings: Settings, *, embedder: Embedder | None = None) -> QAPipeline:
        """Load the embedder and the index (checked against the configured model and chunking).

        A live index update passes the serving pipeline's `embedder`: the model does not change with
        the index, so each generation reuses it rather than loading (and leaving behind) another.
        """
        embedder = embedder or load_embedder(settings.embedding, for_queries=True)
        index = open_index(
            settings.index_dir,
            model_name=configured_model_name(settings.embedding),
            dimension=embedder.dimension,
            chunking=settings.chunking.model_dump(),
            hnsw_ef_search=settings.index.hnsw_ef_search,
            model_fingerprint=getattr(embedder, "fingerprint", None),
        )
        pipeline = cls(index, embedder, settings, chat_model=build_chat_model(settings.llm))
        pipeline.warm_up()
        return pipeline

    def warm_up(self) -> None:
        """One throwaway query so the first real one does not pay for lazy initialisation."""
        self.ask(AskRequest(question="bone metastasis", composer="extractive"))  # never a model call at start
        self.retriever.cache = type(self.retriever.cache)(self.settings.retrieval.query_cache_size)

    def with_settings(
        self, *, retrieval: RetrievalSettings | None = None, answer: AnswerSettings | None = None
    ) -> QAPipeline:
        """The same index and model with other retrieval or answer settings."""
        clone = QAPipeline.__new__(QAPipeline)
        clone.__dict__.update(self.__dict__)
        settings = self.settings.model_copy(deep=True)
        if retrieval is not None:
            settings.retrieval = retrieval
            clone.retriever = self.retriever.with_settings(retrieval)
        if answer is not None:
            settings.answer = answer
            clone.extractive = ExtractiveComposer(
                self.index, answer, embed=self.embedder.embed, reranker=self.extractive.reranker
            )
        clone.settings = settings
        return clone

    # -- search ---------------------------------------------------------------------------------

    def _passage(self, hit: Hit) -> Passage:
        chunk = self.index.chunks[hit.row]
        return Passage(
            **provenance(chunk),
            also_on=self.copies_elsewhere(hit.row),
            text=chunk.prefix + chunk.text,
            guideline=attribution(chunk),
            topic=chunk.topic,
            score=round(hit.score, 6),
            dense_rank=hit.dense_rank,
            keyword_rank=hit.keyword_rank,
            rerank_score=None if hit.rerank is None else round(hit.rerank, 4),
        )

    def _top_k(self, requested: int | None) -> int:
        top_k = requested or self.settings.retrieval.default_top_k
        if top_k > self.settings.retrieval.max_top_k:
            raise BadRequestError(f"top_k must be between 1 and {self.settings.retrieval.max_top_k}")
        return top_k

    @property
    def abstain_threshold(self) -> float:
        """The evidence score below which the service abstains: the setting, else the gate's own."""
        configured = self.settings.answer.abstain_threshold
        return self.gate.model.threshold if configured is None else configured

    def read_question(self, text: str) -> str:
        """The question as the service reads it: guideline bodies named in full as their initials
        (`abbreviate_bodies`), misspelt words corrected to the index's own words."""
        text = abbreviate_bodies(text)
        if not self.settings.retrieval.correct_spelling:
            return text
        return self.speller.correct(text, self.gate.is_common_word)

    def search(self, request: SearchRequest) -> SearchResponse:
        """Ranked passages for the query."""
        started = time.perf_counter()
        query = self.read_question(request.query)
        result = self.retriever.retrieve(query, self._top_k(request.top_k), request.filters)
        timings = dict(result.timings_ms)
        timings["total"] = (time.perf_counter() - started) * 1000
        return SearchResponse(
            passages=[self._passage(h) for h in result.hits], timings_ms={k: round(v, 3) for k, v in timings.items()}
        )

    # -- ask ------------------------------------------------------------------------------------

    def _composer(self, name: str) -> AnswerComposer:
        if name == "llm":
            if self.chat_model is None:
                raise BadRequestError("the LLM composer is not configured (set GQA_LLM__BASE_URL)")
            return LLMComposer(self.chat_model, self.extractive, self.settings.llm)
        return self.extractive

    @contextmanager
    def hiding(self, rows: Collection[int]) -> Iterator[None]:
        """Answer as if these passages were not in the index (evaluation: `eval/answer_removed.py`).

        Retrieval never returns them and no recommendation among them is attached; the index's statistics
        (IDF, vocabulary) stay those of the whole index. Not for a serving pipeline: it is not thread-safe.
        """
        self._hidden = frozenset(int(r) for r in rows)
        self.retriever.hidden = np.array(sorted(self._hidden), dtype=np.int64)
        try:
            yield
        finally:
            self._hidden = frozenset()
            self.retriever.hidden = None

    @cached_property
    def _paged_rows(self) -> dict[str, np.ndarray]:
        """The rows of each paginated document, read at the first citation."""
        rows: dict[str, list[int]] = {}
        for row, chunk in enumerate(self.index.chunks):
            if chunk.page_start is not None:
                rows.setdefault(chunk.doc_id, []).append(row)
        return {doc: np.array(found, dtype=np.int64) for doc, found in rows.items() if len(found) > 1}

    def copies_elsewhere(self, row: int) -> list[PageRef]:
        """The other pages of the passage's document that hold it again, nearly word for word.

        A guideline repeats its recommendations in an executive summary: WHO's "Recommendation 2a" is on p. x
        and on p. 18, with its remarks. The retriever keeps one of two such passages (`dedupe_threshold`, the
        same cosine), and the page a clinician turns to may be the other: the citation names both.
        """
        chunk = self.index.chunks[row]
        rows = self._paged_rows.get(chunk.doc_id)
        if rows is None or chunk.page_start is None:
            return []
        similar = np.asarray(self.index.vectors[rows]) @ np.asarray(self.index.vectors[row])
        first, last = chunk.page_start, chunk.page_end or chunk.page_start
        found: dict[int, PageRef] = {}
        for other_row, cosine in zip(rows.tolist(), similar.tolist(), strict=True):
            other = self.index.chunks[other_row]
            page = other.page_start
            if cosine < self.settings.retrieval.dedupe_threshold or other_row in self._hidden or page is None:
                continue
            if not first <= page <= last and page not in found:
                label = other.page_marks[0][2] if other.page_marks else None
                found[page] = PageRef(page=page, page_label=label)
        return [found[page] for page in sorted(found)]

    def ask(self, request: AskRequest) -> AskResponse:
        """Retrieve, compose, check the evidence; answer with citations or abstain.

        With the named-source boost on (`RetrievalSettings.named_source_boost`), a question naming a guideline's
        source ("per ESMO, ...") is answered from that source's passages, lifted. When that answer is refused,
        the question is asked again as if it named none, and the other guidelines' answer stands with a caution
        saying the named source's passages alone do not answer it (unless its reason says so already: no passage
        quoted comes from the source, `Evidence.sources_unanswered`).
        """
        started = time.perf_counter()
        response, lifted, seen = self._ask(request, lift=True)
        if response.abstained and lifted:
            retry, _, retry_seen = self._ask(request, lift=False)
            if not retry.abstained:
                reason = retry.reason or ""
                if not lifted <= retry_seen[1].sources_unanswered:  # else its reason names them already
                    unanswered = (
                        f"the question names {_bodies(lifted)}, and its passages alone do not answer it: the answer "
                        "draws on other guidelines"
                    )
                    reason = _also(reason, unanswered)
                timings = retry.timings_ms | {"total": round((time.perf_counter() - started) * 1000, 3)}
                response = retry.model_copy(update={"caution": True, "reason": reason, "timings_ms": timings})
                seen = retry_seen
        if self.on_evidence is not None:
            self.on_evidence(*seen)
        return response

    def _ask(
        self, request: AskRequest, *, lift: bool
    ) -> tuple[AskResponse, frozenset[str], tuple[str, Evidence, bool]]:
        """One answer: the response, the named sources whose passages were lifted, and the gate's inputs."""
        started = time.perf_counter()
        answer_settings = self.settings.answer
        top_k = self._top_k(request.top_k)
        question = self.read_question(request.question)
        result = self.retriever.retrieve(question, top_k, request.filters, lift_named_sources=lift)
        timings = dict(result.timings_ms)
        passages = [self._passage(h) for h in result.hits]
        candidates = self.reader.candidates(result.hits)
        if answer_settings.attach_recommendations:
            candidates = self.reader.with_recommendations(candidates, self._hidden)
        candidates = self.reader.with_rest_of_tables(question, candidates, self._hidden)
        candidates = self.reader.with_passages_pointed_back_to(candidates, self._hidden)
        composer_name = request.composer or answer_settings.composer
        max_words = answer_settings.long_max_words if request.long else answer_settings.max_words

        t = time.perf_counter()
        composed = (
            self._composer(composer_name).compose(question, result.query_vector, candidates, max_words=max_words)
            if candidates
            else Composed(sentences=[], composer=composer_name)
        )
        other_uses: frozenset[int] = frozenset()
        # The use asked, when the named drug's every quoted dose is another use's: its citations say so, in order.
        dosed_only_elsewhere = ""
        if composed.composer == "extractive":
            other_uses, dosed_only_elsewhere = self.gate.uses.for_other_uses(question, composed, candidates)
            if other_uses and not dosed_only_elsewhere:  # the asked use's doses first; the others' follow (stable)
                composed.sentences.sort(key=lambda s: s.source in other_uses)
                if composed.weighed is not None:
                    composed.weighed.sort(key=lambda s: s.source in other_uses)
            adult = doses_not_for_children(question, composed, candidates)
            if adult:  # a child's dose question: the passages dosing the drug for children first (stable)
                composed.sentences.sort(key=lambda s: s.source in adult)
                if composed.weighed is not None:
                    composed.weighed.sort(key=lambda s: s.source in adult)
            composed.sentences = asked_doses_first(question, composed.sentences)
            if composed.weighed is not None:
                composed.weighed = asked_doses_first(question, composed.weighed)
            items = asked_items_first(question, composed.sentences, candidates)
            items = asked_sentences_first(question, items, candidates)
            if items != composed.sentences:  # shown reordered; the gate and the judge read the answer as composed
                composed.weighed = composed.sentences if composed.weighed is None else composed.weighed
                composed.sentences = items
        answer_text, order = render(composed, candidates)
        timings["compose"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        hits = result.hits
        if composed.composer == "llm":  # a generated answer is judged on the passages it cites, not the top three
            retrieved = {h.row: h for h in result.hits}
            cited = sorted({i for s in composed.sentences for i in (s.source, *s.also)})
            # A recommendation read beside its notes was not retrieved: it has no ranks of its own.
            hits = [retrieved.get(candidates[i].row) or Hit(row=candidates[i].row, score=0.0) for i in cited]
        rerank = [h.rerank_logit for h in hits if h.rerank_logit is not None]
        # The gate judges the answer without the sentences shown past its usual length (`AnswerSentence.unweighed`).
        weighed = replace(composed, sentences=composed.gate_sentences(), weighed=None)
        unchanged = weighed.sentences == composed.sentences
        weighed_text = answer_text if unchanged else render(weighed, candidates)[0]
        evidence = self.gate.assess(
            question, hits, weighed, weighed_text, result.query_vector, candidates, rerank=rerank
        )
        timings["evidence"] = (time.perf_counter() - t) * 1000
        seen = (question, evidence, bool(composed.sentences))
        threshold = self.abstain_threshold
        abstained = not composed.sentences or evidence.score < threshold
        caution_band = self.gate.model.caution_band
        judgement = None
        if not abstained and self.judge is not None and self.judge.reads(evidence.score):
            t = time.perf_counter()
            # The judge reads the answer at the length the gate weighs, as the gate does (`Composed.usual_sentences`).
            read = [
                sentence_passage(candidates[x.source].chunk, x.text, x.table_header)
                for x in composed.usual_sentences()[: self.judge.model.sentences]
            ]
            judgement = self.judge.judge(request.question, read, evidence.score, threshold, caution_band)
            timings["judge"] = (time.perf_counter() - t) * 1000
        score = evidence.score if judgement is None else judgement.score
        reason = composed.note
        citations: list[Citation] = []
        doses_elsewhere = False  # every passage quoted for a dose is noted as another drug's, use's or patient's
        if abstained:
            if not candidates:
                reason = "no passage matched the question"
                if request.filters:
                    unmatched = self.retriever.unmatched_filters(request.filters)
                    reason += " and filters" + (f": {unmatched}" if unmatched else "")
            elif evidence.asks_quantity and not evidence.answer_has_number:
                reason = "the question asks for a quantity the closest passages do not state"
            elif evidence.rows_for_other_drugs:
                named = ", ".join(sorted(evidence.rows_for_other_drugs))
                reason = f"the question names {named}, and the table rows that give its numbers are other drugs'"
            elif evidence.population_unmatched:
                reason = f"the question's patient is not whom the passages speak of: {evidence.population_unmatched}"
            elif evidence.use_unstated:
                reason = (
                    f"the question asks a dose for {evidence.use_unstated}, and the passages that give a dose are "
                    "about other uses"
                )
            elif evidence.times_for_other_drugs:
                reason = (
                    "the question asks how long or how often for a drug, and the times the passages state are "
                    "other drugs'"
                )
            elif evidence.time_unstated:
                reason = "the question asks how long or how often, and the closest passages state no time or interval"
            else:
                reason = (
                    f"evidence score {evidence.score:.2f} is below the threshold "
                    f"{threshold:.2f}: the closest passages do not answer this question"
                )
            if evidence.sources_unanswered:
                named = _bodies(evidence.sources_unanswered)
                reason = _also(reason, f"the question names {named}, and no passage of it answers the question")
            answer_text = ABSTAIN_TEXT + (" The closest passages are listed for reference." if passages else "")
        else:
            notes = citation_notes(question, composed, candidates, other_uses)  # another drug, use or population
            doses_elsewhere = _doses_only_noted(question, composed, notes)
            for n, source in enumerate(order, start=1):
                chunk = candidates[source].chunk
                fields = provenance(chunk)
                quoted = [
                    chunk.sentences[x.position]
                    for x in composed.sentences
                    if x.source == source and composed.composer == "extractive" and x.position < len(chunk.sentences)
                ]
                # The page a clinician checks is the page of the sentences quoted, not of the whole passage.
                if (pages := pages_of(chunk, quoted)) is not None:
                    fields |= {"page": pages[0], "page_end": pages[1], "page_label": pages[2]}
                citations.append(
                    Citation(
                        id=n,
                        **fields,
                        also_on=self.copies_elsewhere(candidates[source].row),
                        guideline=attribution(chunk),
                        quote=chunk.prefix + chunk.text,
                        note=notes.get(source),
                    )
                )
            # A cited passage the composer brought beside those retrieved (a recommendation beside its rationale,
            # the sentence a quoted one points back to, a table's other rows) is listed too, after them, with no
            # fused score: every citation's passage is among the response's passages.
            listed = {p.chunk_id for p in passages}
            for source in order:
                if candidates[source].chunk.chunk_id not in listed:
                    listed.add(candidates[source].chunk.chunk_id)
                    passages.append(self._passage(Hit(row=candidates[source].row, score=0.0)))
        timings["total"] = (time.perf_counter() - started) * 1000
        # A middle state between answering and abstaining: the answer stands, flagged as partial evidence,
        # or as coming from other guidelines than the one the question names.
        caution = not abstained and (
            score < threshold + caution_band
            or bool(evidence.sources_absent)
            or bool(evidence.sources_unanswered)
            or bool(evidence.untimed_part)
            or evidence.pregnancy_unspoken
            or bool(evidence.renal_outside)
            or evidence.maximum_unstated
            or bool(evidence.dose_unquoted)
            or doses_elsewhere
        )
        if judgement is not None and judgement.doubted:
            doubt = (
                f"a learned judge reads the quoted sentences as a doubtful answer to this question "
                f"({judgement.combined:.2f}): they may come from a neighbouring topic or use"
            )
            reason = _also(reason, doubt)
        if caution and evidence.untimed_part:
            untimed = f'the passages quoted state no time or interval for "{evidence.untimed_part}"'
            reason = _also(reason, untimed)
        if caution and evidence.sources_unanswered:
            named = _bodies(evidence.sources_unanswered)
            unanswered = f"the question names {named}; no passage quoted comes from it: {OTHER_GUIDELINES}"
            reason = _also(reason, unanswered)
        if caution and evidence.sources_absent:
            named = _bodies(evidence.sources_absent)
            absent = f"the question names {named}; no document in this index comes from it: {OTHER_GUIDELINES}"
            reason = _also(reason, absent)
        if caution and evidence.pregnancy_unspoken:
            reason = _also(reason, f"the question is about pregnancy or breastfeeding, and {UNSPOKEN_PREGNANCY}")
        if caution and evidence.maximum_unstated:
            reason = _also(reason, "the question asks a maximum or limit, and the passages quoted state none")
        if caution and evidence.dose_unquoted:
            reason = _also(reason, f"the question states {evidence.dose_unquoted}; no passage quoted states that dose")
        if caution and doses_elsewhere:
            reason = _also(reason, DOSES_ELSEWHERE)
        if caution and evidence.renal_outside:
            renal = f"the question's patient has {evidence.renal_outside}: no band quoted holds that renal function"
            reason = _also(reason, renal)
        if caution and not reason:  # flagged by its score alone: say so, as a refusal does
            reason = (
                f"evidence score {score:.2f} is less than {caution_band:.2f} above the threshold {threshold:.2f}: "
                "the cited passages may answer only part of the question"
            )
        response = AskResponse(
            answer=answer_text,
            citations=citations,
            passages=passages,
            abstained=abstained,
            reason=reason,
            evidence_score=round(score, 4),
            caution=caution,
            composer=composed.composer,
            fallback=composed.fallback,
            dropped=composed.dropped,
            timings_ms={k: round(v, 3) for k, v in timings.items()},
        )
        return response, result.lifted, seen

    def ask_stream(self, request: AskRequest) -> Iterator[dict[str, Any]]:
        """The answer as events, one per sentence, then the full response."""
        response = self.ask(request)
        if response.abstained:
            yield {"type": "abstain", "text": response.answer, "reason": response.reason}
        else:
            for sentence in _split_rendered(response.answer):
                yield {"type": "sentence", "text": sentence}
        yield {"type": "done", "response": response.model_dump()}

    def documents(self) -> list[dict[str, Any]]:
        """Manifest entries of the indexed documents (without where the server keeps their files)."""
        return [
            d.model_dump(exclude={"file", "file_fingerprint"})
            | {"source_url": f"/v1/documents/{d.doc_id}/source" if d.file and source_media_type(d.file) else None}
            for d in self.index.manifest.documents
        ]

    def source_file(self, doc_id: str) -> tuple[Path, str]:
        """The original file an indexed document was ingested from, and its media type.

        Only files the index records are served, looked up by document id: no path comes from the request.
        """
        entry = next((d for d in self.index.manifest.documents if d.doc_id == doc_id), None)
        if entry is None:
            raise NotFoundError(f"no document {doc_id!r}")
        media_type = source_media_type(entry.file) if entry.file else None
        if entry.file is None or media_type is None:
            raise NotFoundError(
                f"document {doc_id!r} has no source file to serve (records from a JSONL file have none)"
            )
        path = Path(entry.file)
        if not path.is_file():
            raise NotFoundError(
                f"the source file of {doc_id!r} is not on this server any more (it was ingested from {path.name}); "
                "re-ingest on this machine to serve it"
            )
        return path, media_type

    def recommendation(self, rec_id: str) -> list[Passage]:
        """Every chunk carrying this recommendation id (a long one is cut into several), in document order."""
        wanted = rec_id.strip().casefold()
        chunks = [c for c in self.index.chunks if c.rec_id is not None and c.rec_id.casefold() == wanted]
        if not wanted or not chunks:
            raise NotFoundError(f"no recommendation {rec_id!r} in this index")
        chunks.sort(key=lambda c: (c.doc_id, c.position))
        return [
            Passage(**provenance(c), text=c.prefix + c.text, guideline=attribution(c), topic=c.topic, score=1.0)
            for c in chunks
        ]

    def manifest(self) -> dict[str, Any]:
        """The manifest without the per-document list, and the name of the generation served."""
        return self.index.manifest.model_dump(exclude={"documents"}) | {"generation": self.index.path.name}


def _split_rendered(answer: str) -> list[str]:
    """Rendered answer sentences: each ends with its `[n]` marker."""

    return [s.strip() for s in re.split(r"(?<=\])\s+", answer) if s.strip()]


__all__ = ["ABSTAIN_TEXT", "QAPipeline", "build_chat_model"]
