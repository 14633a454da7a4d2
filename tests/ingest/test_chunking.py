"""Chunking properties: exact offsets, token limit, section paths, whole sentences, items and rows."""

from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

import pytest

from ingest import Chunk, Chunker, ChunkingSettings, Document, HashEmbedder, split_sentences
from ingest.chunking import SPECIAL_TOKENS, chunk_id_for
from ingest.loaders import load_markdown

TITLE = "Bone metastasis: radiotherapy (test fixture)"

WORDS = (
    "bone pain radiotherapy dose fraction single Gy denosumab zoledronic acid calcium renal fracture spine "
    "cord compression surgery patient e.g. i.e. vs. 8 120 mg weeks hypercalcaemia (MSCC) 1.5 mg/kg"
).split()


def make_chunker(max_tokens: int = 256, **settings: object) -> tuple[Chunker, HashEmbedder]:
    embedder = HashEmbedder(max_tokens=max_tokens)
    chunk_settings = ChunkingSettings(max_tokens=max_tokens, **settings)
    return Chunker(chunk_settings, embedder.count_tokens, embedder.max_tokens), embedder


def tokens_with_specials(embedder: HashEmbedder, chunk: Chunk) -> int:
    return embedder.count_tokens([chunk.embedding_text()])[0] + SPECIAL_TOKENS


def structured(text: str, title: str = "Doc", doc_id: str = "doc") -> Document:
    return Document(doc_id=doc_id, text=text, title=title, source=f"{doc_id}.md", structured=True)


def record(text: str, doc_id: str = "rec") -> Document:
    return Document(doc_id=doc_id, text=text, title="Record", source=f"{doc_id}.jsonl", structured=False)


# --- generated documents --------------------------------------------------------------------------


def _sentence(rng: random.Random, n_words: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n_words)]
    return words[0].capitalize() + " " + " ".join(words[1:]) + rng.choice([".", ".", "?", "!"])


def random_document(seed: int, *, structured_doc: bool, long_units: bool = True) -> Document:
    """A Markdown-ish document mixing headings, recommendation blocks, paragraphs, lists and tables."""
    rng = random.Random(seed)
    max_words = 120 if long_units else 12
    blocks: list[str] = []
    for _ in range(rng.randint(2, 9)):
        kind = rng.random()
        if kind < 0.2:
            heading = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5)))
            if rng.random() < 0.3:
                heading = f"BM-GEN-{rng.randint(1, 30):02d} {heading}"
            blocks.append("#" * rng.randint(1, 4) + " " + heading)
            if rng.random() < 0.5:
                blocks.append("Guideline: ESMO 2020 · Evidence: I, A")
        elif kind < 0.45:
            blocks.append(" ".join(_sentence(rng, rng.randint(3, 14)) for _ in range(rng.randint(1, 6))))
        elif kind < 0.65:
            items = []
            for _ in range(rng.randint(1, 8)):
                item = "- " + " ".join(_sentence(rng, rng.randint(3, 10)) for _ in range(rng.randint(1, 2)))
                if rng.random() < 0.3:
                    item += "\n  " + _sentence(rng, rng.randint(3, 8))
                items.append(item)
            blocks.append("\n".join(items))
        elif kind < 0.85:
            cols = rng.randint(2, 4)
            rows = ["| " + " | ".join(rng.choice(WORDS) for _ in range(cols)) + " |", "|" + " --- |" * cols]
            for _ in range(rng.randint(1, 14)):
                cells = (" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5))) for _ in range(cols))
                rows.append("| " + " | ".join(cells) + " |")
            blocks.append("\n".join(rows))
        else:
            blocks.append(_sentence(rng, rng.randint(max_words // 2, max_words)))
    title = "Generated " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5)))
    return Document(
        doc_id=f"gen-{seed}", text="\n\n".join(blocks) + "\n", title=title, source="gen", structured=structured_doc
    )


GENERATED = [(seed, flag) for seed in range(150) for flag in (True, False)]


@pytest.mark.parametrize("max_tokens", [48, 96, 256])
def test_no_chunk_exceeds_the_token_limit_on_generated_documents(max_tokens: int) -> None:
    chunker, embedder = make_chunker(max_tokens, record_target_tokens=40)
    for seed, flag in GENERATED:
        doc = random_document(seed, structured_doc=flag)
        for chunk in chunker.chunk(doc):
            assert tokens_with_specials(embedder, chunk) <= max_tokens, (seed, flag, chunk.embedding_text())


def test_chunk_text_is_always_the_exact_source_slice_on_generated_documents() -> None:
    chunker, _ = make_chunker(64, record_target_tokens=40)
    for seed, flag in GENERATED:
        doc = random_document(seed, structured_doc=flag)
        chunks = chunker.chunk(doc)
        assert chunks, seed
        for chunk in chunks:
            assert 0 <= chunk.start < chunk.end <= len(doc.text)
            assert doc.text[chunk.start : chunk.end] == chunk.text
            assert chunk.text == chunk.text.strip()


def test_sentence_spans_lie_inside_their_chunk_in_order() -> None:
    chunker, _ = make_chunker(64, record_target_tokens=40)
    for seed, flag in GENERATED:
        for chunk in chunker.chunk(random_document(seed, structured_doc=flag)):
            # Only a recommendation block holding nothing but its "Guideline:" line has no sentence.
            assert chunk.sentences or chunk.text.startswith("Guideline:"), (seed, chunk)
            previous_end = 0
            for a, b in chunk.sentences:
                assert previous_end <= a < b <= len(chunk.text), (seed, chunk)
                assert chunk.text[a:b] == chunk.text[a:b].strip()
                previous_end = b


def test_every_word_of_the_source_ends_up_in_some_chunk() -> None:
    chunker, _ = make_chunker(64, record_target_tokens=40)
    for seed, flag in GENERATED:
        doc = random_document(seed, structured_doc=flag)
        covered = [False] * len(doc.text)
        for chunk in chunker.chunk(doc):
            covered[chunk.start : chunk.end] = [True] * (chunk.end - chunk.start)
        heading_lines = {m.span() for m in re.finditer(r"(?m)^#{1,6} .*$", doc.text)} if flag else set()
        for match in re.finditer(r"\S+", doc.text):
            in_heading = any(a <= match.start() < b for a, b in heading_lines)
            assert in_heading or covered[match.start()], (seed, flag, match.group())


def test_chunk_ids_are_stable_unique_content_hashes() -> None:
    chunker, _ = make_chunker(64, record_target_tokens=40)
    for seed, flag in GENERATED[:40]:
        doc = random_document(seed, structured_doc=flag)
        first = chunker.chunk(doc)
        second = chunker.chunk(doc)
        assert [c.chunk_id for c in first] == [c.chunk_id for c in second]
        assert len({c.chunk_id for c in first}) == len(first)
        for chunk in first:
            assert chunk.chunk_id == chunk_id_for(doc.doc_id, chunk.position, chunk.text)


def test_chunk_id_depends_on_document_position_and_text() -> None:
    base = chunk_id_for("doc", 0, "Give 8 Gy.")

    assert chunk_id_for("doc", 0, "Give 8 Gy.") == base
    assert chunk_id_for("other", 0, "Give 8 Gy.") != base
    assert chunk_id_for("doc", 1, "Give 8 Gy.") != base
    assert chunk_id_for("doc", 0, "Give 20 Gy.") != base


def test_editing_one_section_changes_only_that_chunks_id(ingest_fixtures: Path, tmp_path: Path) -> None:
    chunker, _ = make_chunker()
    path = tmp_path / "guideline.md"
    original = (ingest_fixtures / "guideline.md").read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")
    before = chunker.chunk(load_markdown(path, "guideline"))
    path.write_text(original.replace("Repeat imaging only", "Repeat imaging solely"), encoding="utf-8")
    after = chunker.chunk(load_markdown(path, "guideline"))

    changed = [b.section for b, a in zip(before, after, strict=True) if b.chunk_id != a.chunk_id]
    assert changed == [(TITLE, "Follow-up")]


# --- structure of the Markdown fixture ------------------------------------------------------------


@pytest.fixture
def fixture_chunks(ingest_fixtures: Path) -> tuple[Document, list[Chunk]]:
    doc = load_markdown(ingest_fixtures / "guideline.md", "guideline")
    chunker, _ = make_chunker()
    return doc, chunker.chunk(doc)


def test_headings_become_section_paths(fixture_chunks: tuple[Document, list[Chunk]]) -> None:
    _, chunks = fixture_chunks

    assert [c.section for c in chunks] == [
        (TITLE,),
        (TITLE, "External beam radiotherapy", "EBRT for localised bone pain"),
        (TITLE, "External beam radiotherapy", "A single 8 Gy fraction"),
        (TITLE, "Bone-modifying agents"),
        (TITLE, "Bone-modifying agents", "Dosing table"),
        (TITLE, "Follow-up"),
    ]
    assert [c.position for c in chunks] == list(range(len(chunks)))


def test_header_and_embedding_text_carry_the_section_path_once(fixture_chunks: tuple[Document, list[Chunk]]) -> None:
    _, chunks = fixture_chunks
    rt01 = chunks[1]

    assert rt01.header() == f"{TITLE} > External beam radiotherapy > EBRT for localised bone pain"
    assert rt01.embedding_text() == rt01.header() + "\n" + rt01.text
    assert rt01.header(" / ").count(" / ") == 2


def test_title_heads_the_header_when_the_path_does_not_start_with_it() -> None:
    chunker, _ = make_chunker()
    doc = structured("## Dosing\n\nGive 8 Gy.\n", title="Radiotherapy")

    (chunk,) = chunker.chunk(doc)

    assert chunk.section == ("Dosing",)
    assert chunk.header() == "Radiotherapy > Dosing"


def test_recommendation_heading_gives_rec_id_and_guideline_line_gives_metadata(
    fixture_chunks: tuple[Document, list[Chunk]],
) -> None:
    _, chunks = fixture_chunks
    rt01, rt02 = chunks[1], chunks[2]

    assert rt01.rec_id == "BM-RT-01"
    assert rt01.guideline == "ESMO 2020"
    assert (rt01.issuing_body, rt01.year) == ("ESMO", 2020)
    assert rt01.metadata == {"reviewed_by": "fixture-author", "evidence": "I, A"}

    assert rt02.rec_id == "BM-RT-02"
    assert rt02.guideline == "ASTRO 2017"
    # The block's own guideline wins over the document's front matter.
    assert (rt02.issuing_body, rt02.year) == ("ASTRO", 2017)
    assert rt02.metadata["strength"] == "strong"
    assert rt02.metadata["evidence"] == "high quality"


def test_guideline_line_is_in_the_source_slice_but_not_among_sentences(
    fixture_chunks: tuple[Document, list[Chunk]],
) -> None:
    _, chunks = fixture_chunks
    rt01 = chunks[1]

    assert rt01.text.startswith("Guideline: ESMO 2020 · Evidence: I, A")
    assert rt01.sentence_texts() == [
        "External beam radiotherapy (EBRT) is the first-choice treatment for localised bone pain.",
        "It relieves pain in most patients, e.g. within four weeks.",
    ]
    assert all("Guideline:" not in s for c in chunks for s in c.sentence_texts())


def test_sections_without_rec_heading_inherit_document_metadata(
    fixture_chunks: tuple[Document, list[Chunk]],
) -> None:
    doc, chunks = fixture_chunks
    follow_up = chunks[-1]

    assert follow_up.rec_id is None and follow_up.guideline is None
    assert (follow_up.issuing_body, follow_up.year) == (doc.issuing_body, doc.year)
    assert (follow_up.topic, follow_up.url, follow_up.title) == (doc.topic, doc.url, doc.title)
    assert follow_up.metadata == {"reviewed_by": "fixture-author"}


def test_list_item_with_continuation_line_is_one_unit_with_its_sentences(
    fixture_chunks: tuple[Document, list[Chunk]],
) -> None:
    _, chunks = fixture_chunks
    agents = chunks[3]

    assert "- Zoledronic acid 4 mg IV over no less than 15 minutes,\n  every 12 weeks" in agents.text
    assert agents.sentence_texts() == [
        "Options for the prevention of skeletal-related events:",
        "Denosumab 120 mg subcutaneously every 4 weeks.",
        "Check calcium before each dose.",
        "Zoledronic acid 4 mg IV over no less than 15 minutes,\n  every 12 weeks or every 3 to 4 weeks.",
        "Adjust the dose to renal function.",
        "Pamidronate 90 mg IV over no less than 2 hours.",
    ]


def test_a_list_item_wrapped_without_indent_stays_one_item_and_its_sentences_whole() -> None:
    chunker, _ = make_chunker()
    text = (
        "# Myeloma\n\n## Radiation\n\n"
        "Lytic lesions of the spine generally require radiation if:\n\n"
        "1. They are associated with an\nextramedullary plasmacytoma.\n"
        "2. A painful destruction of a\nvertebral body occurred.\n"
        "| Site | Dose |\n| --- | --- |\n| Spine | 8 Gy |\n"
    )
    (chunk,) = chunker.chunk(structured(text, title="Myeloma"))

    assert chunk.sentence_texts() == [
        "Lytic lesions of the spine generally require radiation if:",
        "They are associated with an\nextramedullary plasmacytoma.",
        "A painful destruction of a\nvertebral body occurred.",
        "| Site | Dose |\n| --- | --- |",
        "| Spine | 8 Gy |",
    ]


def test_recommendation_id_forms(ingest_fixtures: Path) -> None:
    chunker, _ = make_chunker()
    text = (
        "# Title\n\n"
        "### MSCC-03 Dexamethasone\nGuideline: NICE 2023\n\nGive dexamethasone.\n\n"
        "### HYP-01a: Fluids first\n\nRehydrate.\n\n"
        "### BM-RT-10\n\nBare id heading.\n\n"
        "### Not a recommendation\n\nPlain.\n"
    )
    chunks = chunker.chunk(structured(text, title="Title"))

    assert [(c.rec_id, c.section[-1]) for c in chunks] == [
        ("MSCC-03", "Dexamethasone"),
        ("HYP-01a", "Fluids first"),
        ("BM-RT-10", "BM-RT-10"),
        (None, "Not a recommendation"),
    ]
    assert (chunks[0].issuing_body, chunks[0].year) == ("NICE", 2023)


def test_id_like_words_in_ordinary_headings_are_not_recommendation_ids() -> None:
    chunker, _ = make_chunker()
    text = (
        "# Title\n\n"
        "## COVID-19 in children\n\nMost children have mild disease.\n\n"
        "### IL-6 inhibitors\n\nTocilizumab is one.\n\n"
        "## ONJ-7 Dental review\nGuideline: MASCC 2019\n\nA single-segment id with its guideline line.\n"
    )
    chunks = chunker.chunk(structured(text, title="Title"))

    assert [(c.rec_id, c.section) for c in chunks] == [
        (None, ("Title", "COVID-19 in children")),
        (None, ("Title", "COVID-19 in children", "IL-6 inhibitors")),
        ("ONJ-7", ("Title", "Dental review")),
    ]


def test_source_line_is_read_as_the_guideline() -> None:
    chunker, _ = make_chunker()
    text = "## ONJ-02 Dental review\nSource: MASCC/ISOO/ASCO 2019 · Strength: strong\n\nSee a dentist first.\n"

    (chunk,) = chunker.chunk(structured(text))

    assert chunk.guideline == "MASCC/ISOO/ASCO 2019"
    assert (chunk.issuing_body, chunk.year) == ("MASCC/ISOO/ASCO", 2019)
    assert chunk.metadata == {"strength": "strong"}


def test_guideline_like_line_after_the_first_line_is_ordinary_text() -> None:
    chunker, _ = make_chunker()
    text = "## Notes\n\nFirst sentence here.\nGuideline: ESMO 2020\n"

    (chunk,) = chunker.chunk(structured(text))

    assert chunk.guideline is None
    assert "Guideline: ESMO 2020" in " ".join(chunk.sentence_texts())


def test_hashes_inside_code_fences_are_not_headings() -> None:
    chunker, _ = make_chunker()
    text = "# Real\n\nIntro.\n\n```\n# not a heading\n```\n\n## Next\n\nMore.\n"

    chunks = chunker.chunk(structured(text, title="Real"))

    assert [c.section for c in chunks] == [("Real",), ("Real", "Next")]
    assert "# not a heading" in chunks[0].text


def test_heading_levels_pop_back_to_the_right_parent() -> None:
    chunker, _ = make_chunker()
    text = "# A\n\na.\n\n## B\n\nb.\n\n### C\n\nc.\n\n## D\n\nd.\n\n# E\n\ne.\n\n### F\n\nf.\n"

    chunks = chunker.chunk(structured(text, title="A"))

    assert [c.section for c in chunks] == [("A",), ("A", "B"), ("A", "B", "C"), ("A", "D"), ("E",), ("E", "F")]


def test_empty_sections_give_no_chunks() -> None:
    chunker, _ = make_chunker()
    text = "# A\n\n## Empty\n\n## Full\n\nText.\n"

    chunks = chunker.chunk(structured(text, title="A"))

    assert [c.section for c in chunks] == [("A", "Full")]


# --- whole sentences, list items and table rows ---------------------------------------------------


def _item_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"(?m)^- .*(?:\n  .*)*", text)]


def test_a_list_item_is_never_split_across_chunks() -> None:
    chunker, embedder = make_chunker(64)
    for seed in range(60):
        rng = random.Random(seed)
        items = []
        for i in range(rng.randint(5, 25)):
            item = f"- Item {i}: " + " ".join(_sentence(rng, rng.randint(3, 9)) for _ in range(rng.randint(1, 3)))
            if rng.random() < 0.4:
                item += "\n  " + _sentence(rng, rng.randint(2, 6))
            items.append(item)
        doc = structured("# List\n\nIntro sentence.\n\n" + "\n".join(items) + "\n", title="List")
        chunks = chunker.chunk(doc)
        assert len(chunks) > 1, seed
        for a, b in _item_spans(doc.text):
            holders = [c for c in chunks if c.start < b and a < c.end]
            assert len(holders) == 1, (seed, doc.text[a:b])
            assert holders[0].start <= a and b <= holders[0].end
        for chunk in chunks:
            assert tokens_with_specials(embedder, chunk) <= 64


def test_a_sentence_is_never_split_across_chunks() -> None:
    # Sentences here stay well under the hard limit, so none is an oversized exception.
    chunker, _ = make_chunker(128, record_target_tokens=40)
    for seed, flag in GENERATED:
        doc = random_document(seed, structured_doc=flag, long_units=False)
        paragraphs = [m.span() for m in re.finditer(r"(?m)^(?![#|-]|Guideline:)\S.*$", doc.text)]
        sentences = [s for a, b in paragraphs for s in split_sentences(doc.text, a, b)]
        boundaries = {c.start for c in chunker.chunk(doc)} | {c.end for c in chunker.chunk(doc)}
        for a, b in sentences:
            assert not any(a < x < b for x in boundaries), (seed, flag, doc.text[a:b])


def table_document(title: str, header: str, rows: list[str]) -> Document:
    """A structured document of one section holding one table: its header lines, then its rows."""
    return structured(f"# {title}\n\n{header}\n" + "\n".join(rows) + "\n", title=title)


def test_chunk_starting_mid_table_repeats_the_header_row_in_prefix() -> None:
    chunker, embedder = make_chunker(64)
    header = "| Agent | Dose | Interval |\n| --- | --- | --- |"
    rows = [f"| Agent number {i} | {i * 10} mg | every {i} weeks |" for i in range(1, 30)]
    doc = table_document("Dosing", header, rows)

    chunks = chunker.chunk(doc)

    assert len(chunks) > 2
    assert chunks[0].text.startswith(header)
    assert chunks[0].prefix == ""
    for chunk in chunks[1:]:
        assert chunk.text.startswith("| Agent number")
        assert chunk.prefix == header + "\n"
        assert chunk.embedding_text() == f"Dosing\n{header}\n{chunk.text}"
        assert doc.text[chunk.start : chunk.end] == chunk.text  # the prefix is not part of the slice
        assert tokens_with_specials(embedder, chunk) <= 64
    # Every row is in exactly one chunk, whole.
    for row in rows:
        assert sum(row in c.text.splitlines() for c in chunks) == 1, row


def test_a_second_header_row_naming_spanned_columns_is_repeated_with_the_header() -> None:
    # A web page's "Prevalence" over two columns reaches Markdown as an empty header cell and a row under
    # the delimiter naming both; a passage starting mid-table needs that row to say which column is which.
    chunker, _ = make_chunker(128)
    header = "| Effect | Prevalence | | Comments |\n| --- | --- | --- | --- |\n| | Acute use | Chronic use | |"
    rows = [f"| Effect number {i} | +{'+' * (i % 3)} | + | seen in trial {i} |" for i in range(1, 60)]

    chunks = chunker.chunk(table_document("Effects", header, rows))

    assert len(chunks) > 2
    assert all(c.prefix == header + "\n" for c in chunks[1:])
    # A row with numbers under the delimiter is data, not a second header row.
    data = "| Effect | Prevalence | | Comments |\n| --- | --- | --- | --- |\n| | 12% | 3% | |"
    chunks = chunker.chunk(table_document("Effects", data, rows))
    assert all(c.prefix == data.rsplit("\n", 1)[0] + "\n" for c in chunks[1:])


@pytest.mark.parametrize("sentences", range(1, 16))
def test_a_tables_caption_goes_with_its_table_and_heads_the_passages_it_runs_on_into(sentences: int) -> None:
    # A PDQ page: a paragraph, the caption "Table 6. ...", then the table. Packed greedily, the caption could end
    # the paragraph's passage and the dosing rows run on under a bare header, without the words saying what
    # they are. However long the paragraph, the caption is in the passage holding the table's header row.
    chunker, embedder = make_chunker(96)
    paragraph = " ".join(f"Sentence number {i} about nausea after radiotherapy." for i in range(sentences))
    caption = "Table 6. Antiemetic Dosing for Radiation Therapy"
    header = "| Drug | Dose |\n| --- | --- |"
    rows = [f"| Antiemetic number {i} | {i} mg PO daily |" for i in range(1, 30)]
    body = f"{caption}\n\n{header}\n" + "\n".join(rows) + "\n"
    doc = structured(f"# Nausea\n\n{paragraph}\n\n{body}", title="Nausea")

    chunks = chunker.chunk(doc)

    opening = [c for c in chunks if caption in c.text]
    assert len(opening) == 1 and header in opening[0].text
    after = chunks[chunks.index(opening[0]) + 1 :]
    assert after and all(c.prefix == f"{caption}\n\n{header}\n" for c in after)
    assert all(tokens_with_specials(embedder, c) <= 96 for c in chunks)
    for row in rows:
        assert sum(row in c.text.splitlines() for c in chunks) == 1, row
    # A paragraph that is no caption stays where packing puts it, and the rows carry only the header.
    plain = structured(f"# Nausea\n\n{paragraph}\n\nDoses are listed below.\n\n{header}\n" + "\n".join(rows) + "\n")
    assert all(c.prefix in ("", header + "\n") for c in chunker.chunk(plain))


def test_only_a_row_with_the_delimiter_row_under_it_is_a_header() -> None:
    chunker, _ = make_chunker(48)
    rows = "\n".join(f"| Row {i} | value {i} |" for i in range(1, 25))

    with_header = chunker.chunk(structured("| Name | Value |\n|---|---|\n" + rows + "\n", title="T"))
    without = chunker.chunk(structured("| Name | Value |\n" + rows + "\n", title="T"))

    assert len(with_header) > 1 and all(c.prefix == "| Name | Value |\n|---|---|\n" for c in with_header[1:])
    # Without it the first row is data, like "| USPSTF (2013) | The USPSTF found ... |" in a synthesis.
    assert len(without) > 1 and all(c.prefix == "" for c in without)
    assert without[0].sentence_texts()[0] == "| Name | Value |"


def test_paragraph_after_a_table_does_not_get_the_table_header() -> None:
    chunker, _ = make_chunker(48)
    rows = "\n".join(f"| Row {i} | value {i} |" for i in range(1, 20))
    paragraph = " ".join(f"Sentence number {i} about dosing." for i in range(12))
    doc = structured(f"| Name | Value |\n|---|---|\n{rows}\n\n{paragraph}\n", title="T")

    chunks = chunker.chunk(doc)

    for chunk in chunks:
        if chunk.text.startswith("Sentence"):
            assert chunk.prefix == ""


def test_a_row_that_fills_the_budget_with_its_header_is_still_within_the_limit() -> None:
    # The header row costs about half the budget; the long row must be cut so that header + row fit.
    chunker, embedder = make_chunker(64)
    header = "| " + " | ".join(f"h{i}" for i in range(4)) + " |"
    long_row = "| " + " | ".join(" ".join(["dose"] * 10) for _ in range(4)) + " |"  # 45 tokens
    doc = structured(f"{header}\n|{'--|' * 4}\n| a | b | c | d |\n{long_row}\n", title="T")

    chunks = chunker.chunk(doc)

    assert any(c.prefix for c in chunks)
    for chunk in chunks:
        assert tokens_with_specials(embedder, chunk) <= 64, chunk.embedding_text()


def test_a_header_row_too_long_to_repeat_is_dropped_rather_than_exceed_the_limit() -> None:
    chunker, embedder = make_chunker(64)
    header = "| " + " | ".join(f"heading {i}" for i in range(12)) + " |"  # ~37 tokens: over half the budget
    rows = [f"| row {i} | value {i} |" for i in range(20)]
    doc = structured(header + "\n|" + "--|" * 12 + "\n" + "\n".join(rows) + "\n", title="T")

    chunks = chunker.chunk(doc)

    assert len(chunks) > 1
    assert all(c.prefix == "" for c in chunks)
    for chunk in chunks:
        assert tokens_with_specials(embedder, chunk) <= 64


def test_an_oversized_sentence_is_cut_at_word_boundaries_within_the_limit() -> None:
    chunker, embedder = make_chunker(48)
    words = [f"word{i}" for i in range(200)]
    doc = record(" ".join(words) + ".")

    chunks = chunker.chunk(doc)

    assert len(chunks) > 3
    for chunk in chunks:
        assert tokens_with_specials(embedder, chunk) <= 48
        assert doc.text[chunk.start - 1 : chunk.start].strip() == ""  # starts at a word
        assert doc.text[chunk.end : chunk.end + 1].strip() in ("", ".")  # ends at a word
    assert " ".join(c.text for c in chunks).rstrip(".").split() == words


def test_a_list_item_longer_than_the_limit_is_cut_between_its_sentences() -> None:
    chunker, embedder = make_chunker(64)
    sentences = [f"Caution {i}) do not use the calculated dose number {i} to convert opioids." for i in range(12)]
    doc = structured("* " + " ".join(sentences) + "\n", title="T")

    chunks = chunker.chunk(doc)

    assert len(chunks) > 1
    for chunk in chunks:
        assert tokens_with_specials(embedder, chunk) <= 64
        # Every chunk starts and ends on a sentence of the item, and keeps them as its sentences.
        assert chunk.sentence_texts()[0].startswith("Caution")
        assert all(t.endswith("opioids.") for t in chunk.sentence_texts())
    assert [t for c in chunks for t in c.sentence_texts()] == sentences


def test_max_tokens_is_clipped_to_the_model_limit() -> None:
    embedder = HashEmbedder(max_tokens=128)

    chunker = Chunker(ChunkingSettings(max_tokens=512), embedder.count_tokens, embedder.max_tokens)

    assert chunker.max_tokens == 128


# --- records without headings ---------------------------------------------------------------------


def test_record_chunks_overlap_by_one_sentence() -> None:
    chunker, embedder = make_chunker(128, record_target_tokens=80, overlap_sentences=1)
    sentences = [f"Sentence {i} says that the dose is {i} mg." for i in range(30)]
    doc = record(" ".join(sentences))

    chunks = chunker.chunk(doc)

    assert len(chunks) > 3
    for previous, current in itertools.pairwise(chunks):
        assert previous.sentence_texts()[-1] == current.sentence_texts()[0]
        assert current.start < previous.end  # the overlap is the same source text, not a copy
    assert chunks[0].sentence_texts()[0] == sentences[0]
    assert chunks[-1].sentence_texts()[-1] == sentences[-1]
    for chunk in chunks:
        assert chunk.section == ()
        assert tokens_with_specials(embedder, chunk) <= 80


def test_record_overlap_is_dropped_when_it_would_crowd_out_the_next_sentence() -> None:
    # Two 10-token sentences exceed half of a ~37-token target: each chunk starts fresh instead.
    chunker, _ = make_chunker(128, record_target_tokens=40, overlap_sentences=1)
    sentences = [f"Sentence {i} says that the dose is {i} mg." for i in range(30)]

    chunks = chunker.chunk(record(" ".join(sentences)))

    assert [s for c in chunks for s in c.sentence_texts()] == sentences


def test_record_chunks_without_overlap_partition_the_sentences() -> None:
    chunker, _ = make_chunker(128, record_target_tokens=40, overlap_sentences=0)
    sentences = [f"Sentence {i} says that the dose is {i} mg." for i in range(30)]

    chunks = chunker.chunk(record(" ".join(sentences)))

    assert [s for c in chunks for s in c.sentence_texts()] == sentences


def test_record_overlap_of_two_sentences() -> None:
    chunker, _ = make_chunker(128, record_target_tokens=60, overlap_sentences=2)
    sentences = [f"Fact {i} is short." for i in range(40)]

    chunks = chunker.chunk(record(" ".join(sentences)))

    assert len(chunks) > 2
    for previous, current in itertools.pairwise(chunks):
        assert previous.sentence_texts()[-2:] == current.sentence_texts()[:2]


def test_record_with_guideline_like_first_line_keeps_it_as_text() -> None:
    chunker, _ = make_chunker()

    (chunk,) = chunker.chunk(record("Guideline: ESMO 2020\nGive 8 Gy.\n"))

    assert chunk.guideline is None
    assert chunk.start == 0


# --- sentence splitting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Give 8 Gy. Then 20 Gy in 5 fractions.", ["Give 8 Gy.", "Then 20 Gy in 5 fractions."]),
        ("Use e.g. denosumab vs. zoledronic acid. Check renal function.", None),
        ("The dose is 1.5 mg/kg. It works! Does it? Yes.", ["The dose is 1.5 mg/kg.", "It works!", "Does it?", "Yes."]),
        ("Dr. Smith et al. reported it. Fine.", ["Dr. Smith et al. reported it.", "Fine."]),
        ("Trailing text without a full stop", ["Trailing text without a full stop"]),
        ("  Leading and trailing spaces.  \n", ["Leading and trailing spaces."]),
        ("See Fig. 2 for details. Then act.", ["See Fig. 2 for details.", "Then act."]),
        ("He said (yes.) Then left.", ["He said (yes.)", "Then left."]),
        ("Give denosumab 120 mg. Check calcium.", ["Give denosumab 120 mg.", "Check calcium."]),
        ("Infuse over 15 min. Then flush the line.", ["Infuse over 15 min.", "Then flush the line."]),
        ("Up to 3 doses max. 2 per day.", ["Up to 3 doses max. 2 per day."]),
        ("Wait a min. Then go.", ["Wait a min. Then go."]),  # no number before it: kept as an abbreviation
        # A parenthesis alone qualifies the sentence before it in the same paragraph, never stands alone.
        (
            "Screen yearly with LDCT. (Weak recommendation, low-quality evidence). Next.",
            ["Screen yearly with LDCT. (Weak recommendation, low-quality evidence).", "Next."],
        ),
        ("Avoid CXR. (Grade 1A). Then stop.", ["Avoid CXR. (Grade 1A).", "Then stop."]),
        # A source's citation markers and its evidence tag after the full stop end the sentence with it (NCI PDQ).
        (
            "Response rates were 60% to 80%.[79,80][Level of evidence C3] Because of logistics, switch.[83]",
            ["Response rates were 60% to 80%.[79,80][Level of evidence C3]", "Because of logistics, switch.[83]"],
        ),
        ("It fell.[Level of evidence: B1] Next.", ["It fell.[Level of evidence: B1]", "Next."]),
        ("Screen yearly.\n(See Table 2.) Next.", ["Screen yearly.", "(See Table 2.)", "Next."]),
        # Dotted initials do not end a sentence.
        (
            "Exemestane is not U.S. Food and Drug Administration approved. U.K. guidance differs.",
            ["Exemestane is not U.S. Food and Drug Administration approved.", "U.K. guidance differs."],
        ),
    ],
)
def test_split_sentences(text: str, expected: list[str] | None) -> None:
    spans = split_sentences(text)
    got = [text[a:b] for a, b in spans]
    if expected is None:
        expected = ["Use e.g. denosumab vs. zoledronic acid.", "Check renal function."]
    assert got == expected


def test_split_sentences_respects_the_given_range() -> None:
    text = "Ignore this. Keep one. Keep two. Ignore that."
    start = text.index("Keep one")
    end = text.index(" Ignore that")

    spans = split_sentences(text, start, end)

    assert [text[a:b] for a, b in spans] == ["Keep one.", "Keep two."]


def test_a_one_cell_row_continuing_a_spanned_row_stays_in_its_chunk() -> None:
    chunker, _ = make_chunker(64)
    rows = [
        f"| Drug {i} | Age >4 y: | PO | comment {i} |\n| <18 kg: {i} mg q12h |\n| >30 kg: {i} mg q8h |"
        for i in range(8)
    ]
    doc = structured(
        "| Drug | Dose | Route | Comment |\n| --- | --- | --- | --- |\n" + "\n".join(rows) + "\n", title="T"
    )

    chunks = chunker.chunk(doc)

    assert len(chunks) > 1
    for i in range(8):
        (holder,) = [c for c in chunks if f"| Drug {i} |" in c.text]
        # The dose rows travel with the row naming their drug, each still a sentence of its own.
        assert f"| <18 kg: {i} mg q12h |" in holder.text and f"| >30 kg: {i} mg q8h |" in holder.text
        assert f"| >30 kg: {i} mg q8h |" in holder.sentence_texts()


def test_a_short_row_of_a_wide_table_continues_its_row_and_a_full_row_does_not() -> None:
    from ingest.chunking import continues_row

    chunker, _ = make_chunker(64)
    rows = [
        f"| Class {i} | Drug {i} | Capsule: {i} mg day 1 | PO | comment | ref |\n"
        f"| Suspension: {i} mg/kg day 1 | Maximum dose: {i}0 mg |"
        for i in range(8)
    ]
    header = "| Category | Drug | Dose | Route | Comment | Reference |\n| --- | --- | --- | --- | --- | --- |\n"
    chunks = chunker.chunk(structured(header + "\n".join(rows) + "\n", title="T"))

    assert len(chunks) > 1
    for i in range(8):
        (holder,) = [c for c in chunks if f"| Drug {i} |" in c.text]
        assert f"| Suspension: {i} mg/kg day 1 | Maximum dose: {i}0 mg |" in holder.text
    # Half a table's cells or fewer continue the row above; more stand alone; narrow tables have no spans.
    assert continues_row(3, 6) and continues_row(1, 3) and not continues_row(4, 6) and not continues_row(1, 2)
