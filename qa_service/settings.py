"""The one Settings class: every knob of guideline-qa, read from `GQA_*` environment variables.

Nested groups use `__`: `GQA_EMBEDDING__MODEL_PATH=/models/e5`, `GQA_RETRIEVAL__MODE=dense`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest import ChunkingSettings, EmbeddingSettings, IndexSettings

DEFAULT_INDEX_DIR = Path(".index")


class RetrievalSettings(BaseModel):
    """Which retrieval paths run and how they are fused."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["hybrid", "dense", "keyword"] = Field("hybrid", description="Retrieval paths to run.")
    dense_weight: float = Field(1.0, ge=0, le=10, description="Weight of the dense path in fusion.")
    keyword_weight: float = Field(1.0, ge=0, le=10, description="Weight of the keyword path in fusion.")
    fusion: Literal["confidence", "convex", "rrf"] = Field(
        "confidence",
        description="How the paths' rankings are combined: 'convex' adds each path's scores min-max normalised "
        "over its candidates; 'confidence' does the same but weights each path by how far its best candidate "
        "stands above its tenth (a path that is sure of itself counts more); 'rrf' is reciprocal rank fusion.",
    )
    bigram_weight: float = Field(
        0.3,
        ge=0,
        le=5,
        description="Weight of adjacent keyword pairs (phrases) in the keyword path's score. Swept on the "
        "development sets with the Snowball stemmer: 0.2 / 0.25 / 0.3 / 0.35 / 0.5 gave COVID-QA hybrid MRR@10 "
        "0.847 / 0.852 / 0.855 / 0.856 / 0.858 and MedQuAD 0.773 / 0.768 / 0.770 / 0.765 / 0.752.",
    )
    named_source_boost: float = Field(
        0.5,
        ge=0,
        le=5,
        description='Added to the fused score of passages from a guideline the question names ("per WHO", '
        '"CDC 2022", "what does ESMO say"): its issuing body or that body\'s initials. When the lifted passages do '
        "not answer, the question is asked again without the lift and the answer carries a caution naming the "
        "source. Chosen in session 26 on the pooled validation sets: real-document key facts 0.785 -> 0.796, "
        "cited pages holding the answer 0.832 -> 0.860, wrongly refused 0.077 -> 0.076, bone unchanged. 0: off.",
    )
    rrf_k: int = Field(60, ge=1, le=1000, description="Reciprocal rank fusion constant.")
    candidates: int = Field(50, ge=1, le=1000, description="Candidates each path contributes to fusion.")
    default_top_k: int = Field(
        9,
        ge=1,
        le=50,
        description="Passages returned when the request does not say; the composer reads the top "
        "answer.max_passages of them.",
    )
    max_top_k: int = Field(50, ge=1, le=200, description="Largest top_k a request may ask for.")
    expand_abbreviations: bool = Field(True, description="Expand clinical abbreviations in keyword queries.")
    correct_spelling: bool = Field(
        True,
        description="Read a question word the index never uses as the index word within one or two edits "
        "(denosumb -> denosumab) before retrieving and judging the evidence.",
    )
    expand_dense: bool = Field(True, description="Also append the expansions to the query the dense path embeds.")
    dedupe_threshold: float = Field(
        0.97,
        ge=0.5,
        le=1.0,
        description="Cosine above which two passages count as near-duplicates and only the better is kept; a "
        "citation names the pages of its document that hold such a copy (`also_on`).",
    )
    rerank: bool = Field(
        False,
        description="Rescore the best fused passages with the packaged cross-encoder (qa_service/models/reranker). "
        "Off by default: on 2026-11-30 (session 8) it raised key facts on a fresh real-document set a little "
        "(0.544 -> 0.589) and MedQuAD MRR@10 (0.780 -> 0.808), not COVID-QA (0.853 -> 0.852). It costs about "
        "20 ms a question at 10 passages with one thread (session 33: retrieval 6.4 -> 26.7 ms in process; `make "
        "bench`: HTTP median 15.7 -> 35.4 ms at concurrency 1).",
    )
    rerank_depth: int = Field(10, ge=1, le=100, description="Fused passages the reranker rescores.")
    rerank_max_length: int = Field(
        64,
        ge=16,
        le=512,
        description="Word pieces of each question-passage pair the reranker reads (at most the model's own, 96): "
        "its cost grows with them. 64 ranked as well as 96 on the development sets for two thirds of the cost.",
    )
    rerank_weight: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="Share of the reranker's logits (min-max over the candidates) in the final order; "
        "the rest is the fused score.",
    )
    rerank_window: bool = Field(
        True,
        description="The reranker reads each passage from its sentence closest to the question (by the index's "
        "sentence vectors) when that is not its first, so an answer beyond the first 64 word pieces of a long "
        "passage is read. With the reranker on (session 33): MedQuAD CancerGov doc MRR@10 0.808 -> 0.828, "
        "COVID-QA 0.850 -> 0.850; an index without sentence vectors has the passage's start read.",
    )
    rerank_threads: int = Field(1, ge=1, le=64, description="Threads of the reranker's ONNX session.")
    rerank_model: Path | None = Field(None, description="Reranker folder (default: the packaged model).")
    micro_batching: bool = Field(True, description="Encode concurrent queries together in one encoder call.")
    query_cache_size: int = Field(1024, ge=0, le=1_000_000, description="Query embeddings kept in memory.")


class AnswerSettings(BaseModel):
    """How answers are composed and when the service abstains."""

    model_config = ConfigDict(extra="forbid")

    composer: Literal["extractive", "llm"] = Field("extractive", description="Default answer composer.")
    max_words: int = Field(
        180,
        ge=20,
        le=1000,
        description="Target answer length for short answers. 150 against 120 on the development sets (five "
        "real-document, three bone; session 9): key facts +0.02 to +0.13 on every real-document set. 180 against "
        "150, the gate still weighing 150 (`weighed_words`), on the pooled held-out validation sets (session 24): "
        "key facts 0.761 -> 0.781 on real documents and 0.860 -> 0.861 on bone metastasis, cited page 0.817 -> "
        "0.829, every abstention and caution the same; answers from the real documents 213 -> 247 words on average.",
    )
    weighed_words: int = Field(
        150,
        ge=20,
        le=1000,
        description="The evidence gate and the judge weigh the answer chosen within this many words, however long "
        "the answer shown (`max_words`, a long answer, a question in several parts): a longer answer states more "
        "numbers and covers more of the question's words, and must not make weaker evidence look stronger. The "
        "same answer length the gate was fitted with.",
    )
    attach_recommendations: bool = Field(
        True,
        description="Read, beside a passage under a recommendation's heading (its rationale, remarks or "
        "implementation notes), the recommendation itself with its strength. On the development sets (session 10): "
        "key facts +0.05 on realdocs_dev6 and +0.01 on realdocs_dev4 (questions asking a recommendation's "
        "strength), no answer lost on any set; the project's own corpus has no such passages.",
    )
    answer_every_part: bool = Field(
        True,
        description='For a question in several parts ("xr naltrexone: dose, dosing interval, and how many '
        'opioid-free days first?"), add the sentence that best answers each part the chosen sentences leave out, '
        "from those within half the best sentence's score. On the development sets (session 11): five answers "
        "gained key facts (realdocs_dev7 0.600 -> 0.637), none lost, no unanswerable question answered.",
    )
    part_words_share: float = Field(
        0.25,
        ge=0,
        le=2,
        description="Share of the word target added for each part of a question past the first (at most two "
        "more), so each thing asked has room; the evidence gate weighs the answer chosen within `weighed_words`. On "
        "the development sets (session 23): key facts +0.01 to +0.05 on six of seven real-document sets and +0.017 "
        "on bone dev6, none lost, abstention unchanged; 172 words an answer on average instead of 148.",
    )
    max_passages: int = Field(
        9,
        ge=1,
        le=50,
        description="Passages the extractive composer reads (the best-ranked of those retrieved). Seven against five "
        "on the development sets (session 11): key facts +0.01 to +0.05 on five of six real-document sets and "
        "bone gold, 11 answers gained and 4 lost, wrongly refused 0.133 -> 0.111 on realdocs_dev7, citation "
        "precision -0.01 to -0.04; no unanswerable question answered. Nine against seven on the pooled "
        "validation sets (session 27, with default_top_k 9): key facts 0.870 -> 0.875 (bone) and 0.795 -> 0.797 "
        "(real documents), wrongly refused 0.050 -> 0.050 and 0.079 -> 0.077, page 0.860 -> 0.869, unanswerable "
        "refused or cautioned unchanged.",
    )
    dose_max_passages: int = Field(
        5,
        ge=1,
        le=50,
        description="Passages the composer reads for a question naming a dose or its unit: a dose further down the "
        "ranking is more often another drug's or another use's (session 10: seven passages answered two near "
        "misses with such a dose).",
    )
    long_max_words: int = Field(300, ge=20, le=3000, description="Target length when a long answer is asked for.")
    min_sentence_score: float = Field(0.30, ge=-1, le=1, description="Cosine a sentence needs to be used.")
    sentence_rerank: bool = Field(
        False,
        description="Rescore the best candidate answer sentences with the packaged cross-encoder "
        "(qa_service/models/reranker), read under their passage's headings.",
    )
    sentence_rerank_depth: int = Field(8, ge=2, le=40, description="Best-scored sentences the cross-encoder rescores.")
    sentence_rerank_max_length: int = Field(
        64,
        ge=16,
        le=512,
        description="Word pieces of each question-sentence pair the cross-encoder reads (at most the model's own, 96).",
    )
    sentence_rerank_weight: float = Field(
        0.3,
        ge=0,
        le=2,
        description="Added to a rescored sentence's score, times its cross-encoder logit min-max scaled over the "
        "rescored sentences.",
    )
    judge: bool = Field(
        True,
        description="Let the learned judge (qa_service/models/judge) read answers the gate scored below its band, "
        "and flag those it doubts with caution, their score lowered into the caution band (qa_service/judge.py). "
        "Off, or where the gate file has no judge entry: the gate's score stands.",
    )
    judge_model: Path | None = Field(None, description="Judge model folder (default: the packaged one).")
    judge_threads: int | None = Field(
        None,
        ge=1,
        le=64,
        description="Threads of the judge's ONNX session (default: the machine's cores, at most 4: on 2 cores an "
        "answer it reads takes about 23 ms instead of 40 with one thread).",
    )
    abstain_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Evidence score below which the service abstains; default: the threshold the gate was fitted "
        "with (qa_service/data/gate.json).",
    )


class LLMSettings(BaseModel):
    """The optional generative composer, reached over an OpenAI-compatible URL. Off unless set (docs/llm.md)."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = Field(
        None, description="OpenAI-compatible base URL, up to /v1 (Ollama, vLLM, llama.cpp's server)."
    )
    model: str = Field("llama3.1", description="Model name sent to that server.")
    api_key: SecretStr = Field(SecretStr("not-needed"), description="API key for that server, if any.")
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature.")
    timeout_s: float = Field(
        30.0,
        gt=0,
        le=600,
        description="Total seconds one generation may take, first byte to last token. Past it the request is "
        "cancelled (its connection closed, so the server stops generating) and the extractive answer is served "
        "with fallback 'timeout'.",
    )
    connect_timeout_s: float = Field(5.0, gt=0, le=60, description="Seconds to open the connection to the server.")
    max_tokens: int | None = Field(
        None,
        ge=16,
        le=32_768,
        description="Most tokens the model may generate (sent as max_tokens). Unset: tokens_per_word times the "
        "answer's word limit (answer.max_words, or answer.long_max_words for a long answer).",
    )
    tokens_per_word: float = Field(
        2.0,
        gt=0,
        le=10,
        description="Tokens allowed per word of the answer's word limit when max_tokens is unset; English takes "
        "about 1.3 tokens a word, the rest leaves room for [n] markers and attributions.",
    )
    max_concurrency: int = Field(
        1,
        ge=1,
        le=256,
        description="LLM calls in flight at once (a llama.cpp or Ollama server with one slot runs one at a time; "
        "vLLM batches many). Extractive requests never wait for a slot.",
    )
    queue_wait_s: float = Field(
        0.5,
        ge=0,
        le=60,
        description="Seconds an LLM request waits for a free slot before the extractive answer is served with "
        "fallback 'busy'.",
    )

    def token_limit(self, max_words: int) -> int:
        """The max_tokens sent for an answer of at most `max_words` words."""
        return self.max_tokens or max(16, round(self.tokens_per_word * max_words))


class ServerSettings(BaseModel):
    """HTTP-facing settings."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field("127.0.0.1", description="Bind address; localhost unless you mean otherwise.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port.")
    api_keys: list[SecretStr] = Field(default_factory=list, description="Accepted bearer keys; empty: open.")
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS; empty: none.")
    max_question_chars: int = Field(2000, ge=10, le=100_000, description="Longest question accepted.")
    max_body_bytes: int = Field(64_000, ge=1000, le=10_000_000, description="Largest request body accepted.")
    log_questions: bool = Field(False, description="Log question text (may carry patient details).")
    reload_interval_s: float = Field(
        2.0,
        ge=0,
        le=3600,
        description="How often the service looks for a new index generation written by ingest (the index "
        "folder's CURRENT file) and swaps it in while answering; 0: never.",
    )


class Settings(BaseSettings):
    """All settings of guideline-qa. Built explicitly (`Settings()`), never at import."""

    model_config = SettingsConfigDict(env_prefix="GQA_", env_nested_delimiter="__", extra="forbid")

    index_dir: Path = Field(DEFAULT_INDEX_DIR, description="Index directory the service reads and ingest writes.")
    corpus_paths: list[Path] = Field(
        default_factory=lambda: [Path("corpus")], description="Files and folders ingested by default."
    )
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
