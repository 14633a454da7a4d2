"""A four-document guideline corpus and helpers to index it with hash embeddings (no model)."""

# ruff: noqa: E501  (the documents keep one paragraph per line, as the real corpus does)

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ingest import Chunk, HashEmbedder, LoadedIndex, build_index
from qa_service.composed import Candidate

if TYPE_CHECKING:
    from qa_service.pipeline import QAPipeline

MINI_CORPUS: dict[str, str] = {
    "bone-metastasis/radiotherapy.md": """---
title: "Bone metastasis: radiotherapy"
issuing_body: "ESMO"
year: 2020
topic: bone-metastasis/radiotherapy
url: "https://example.org/esmo-radiotherapy"
---

# Bone metastasis: radiotherapy

## External beam radiotherapy

### BM-RT-01 Single fraction for painful bone metastases
Guideline: ESMO 2020 · Evidence: I, A

External beam radiotherapy is the standard treatment for painful uncomplicated bone metastases. A single fraction of 8 Gy relieves pain as well as 20 Gy in 5 fractions or 30 Gy in 10 fractions. Retreatment is more frequent after a single fraction.

### BM-RT-02 Stereotactic body radiotherapy
Guideline: ESMO 2020 · Evidence: II, B

Stereotactic body radiotherapy can be considered for oligometastatic disease and for radioresistant tumours such as renal cell carcinoma.
""",
    "bone-metastasis/diagnosis.md": """---
title: "Bone metastasis: diagnostic imaging"
issuing_body: "ESMO"
year: 2020
topic: bone-metastasis/diagnosis
url: "https://example.org/esmo-diagnosis"
---

# Bone metastasis: diagnostic imaging

## Imaging

### BM-DX-01 Imaging when the bone scan and the X-ray disagree
Guideline: ESMO 2020 · Evidence: III, B

When a bone scan shows a hot spot but the plain X-ray is normal, CT or MRI of the suspicious area is recommended. MRI is the most sensitive test for spinal lesions.

### BM-DX-02 Biopsy of a solitary bone lesion
Guideline: ESMO 2020 · Evidence: IV, C

A solitary bone lesion in a patient without known cancer should be biopsied before any treatment starts.
""",
    "bone-metastasis/medical-management.md": """---
title: "Bone metastasis: bone-modifying agents"
issuing_body: "CCO/ASCO"
year: 2017
topic: bone-metastasis/medical-management
url: "https://example.org/asco-bma"
---

# Bone metastasis: bone-modifying agents

## Breast cancer

### BM-MM-01 Bone-modifying agents in breast cancer
Guideline: CCO/ASCO 2017 · Evidence: I, A

Denosumab 120 mg every 4 weeks or zoledronic acid 4 mg every 12 weeks is recommended for breast cancer with bone metastases. These agents reduce skeletal-related events.

### BM-MM-02 Dental care before bone-modifying agents
Guideline: CCO/ASCO 2017 · Evidence: II, A

A dental examination is recommended before starting denosumab or zoledronic acid because of the risk of osteonecrosis of the jaw.
""",
    "related-topics/hypercalcaemia.md": """---
title: "Hypercalcaemia of malignancy"
issuing_body: "Endocrine Society"
year: 2023
topic: related/hypercalcaemia
url: "https://example.org/endocrine-hypercalcaemia"
---

# Hypercalcaemia of malignancy

## Treatment

### HCM-01 Initial treatment of hypercalcaemia
Guideline: Endocrine Society 2023

Treat hypercalcaemia of malignancy with intravenous fluids and a bisphosphonate or denosumab. Calcitonin can be added for a rapid effect.

### HCM-02 Measuring calcium
Guideline: Endocrine Society 2023

Measure corrected or ionised calcium to confirm hypercalcaemia before treatment.
""",
}


def write_corpus(folder: Path, files: dict[str, str] = MINI_CORPUS) -> Path:
    """Write the given documents under `folder` and return it."""
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def make_embedder(name: str = "hash-embedder") -> HashEmbedder:
    """The hash embedder every index here is built with."""
    return HashEmbedder(dimension=64, max_tokens=128, name=name)


def build_mini_index(folder: Path, files: dict[str, str] = MINI_CORPUS, *, name: str = "hash-embedder") -> Path:
    """Write the corpus into `folder/corpus` and index it into `folder/index`; `files` may hold metadata files
    (a sidecar "ng.txt.meta.yaml", a folder's manifest) beside its documents."""
    from ingest.metadata import is_metadata_file

    corpus = write_corpus(folder / "corpus", files)
    index_dir = folder / "index"
    summary = build_index([corpus], index_dir, embedder=make_embedder(name))
    assert not summary.errors and summary.documents == sum(not is_metadata_file(Path(f)) for f in files)
    return index_dir


def pipeline_over(folder: Path, files: dict[str, str]) -> QAPipeline:
    """A real QAPipeline, default settings, over these documents indexed under `folder` (`build_mini_index`)."""
    from ingest import open_index
    from qa_service.pipeline import QAPipeline
    from qa_service.settings import Settings

    index_dir = build_mini_index(folder, files)
    return QAPipeline(open_index(index_dir), make_embedder(), Settings(index_dir=index_dir))


def chunk_for(index: LoadedIndex, rec_id: str) -> tuple[int, Chunk]:
    """The row and chunk of a recommendation id."""
    rows = [row for row, chunk in enumerate(index.chunks) if chunk.rec_id == rec_id]
    assert len(rows) == 1, (rec_id, rows)
    return rows[0], index.chunks[rows[0]]


def candidates_for(index: LoadedIndex, *rec_ids: str) -> list[Candidate]:
    """The chunks of these recommendations as composer candidates, ranked in the order given."""
    out = []
    for rank, rec_id in enumerate(rec_ids):
        row, chunk = chunk_for(index, rec_id)
        out.append(Candidate(chunk=chunk, row=row, rank=rank))
    return out


def query_vector(question: str) -> np.ndarray:
    """The question's vector from the hash embedder the mini index was built with."""
    return make_embedder().embed([question])[0]


METHADONE = (
    "# Methadone\n\n## Interactions\n\n"
    "Methadone is metabolised by several liver enzymes. "
    "Enzyme inducers such as certain anticonvulsants can reduce its analgesic effect within days. "
    "Rifampicin is a strong inducer that often halves methadone levels. "
    "In contrast, enzyme inhibitors may increase methadone's activity, including side effects such as sedation. "
    "Drug interactions may mean that some medications need to be replaced and that patients need extra monitoring.\n"
)
METHADONE_QUESTION = "do enzyme inhibitors increase methadone activity and side effects"
METHADONE_BEFORE = "Rifampicin is a strong inducer that often halves methadone levels."
METHADONE_CONTRAST = (
    "In contrast, enzyme inhibitors may increase methadone's activity, including side effects such as sedation."
)


def methadone_index(folder: Path) -> tuple[LoadedIndex, HashEmbedder]:
    """`METHADONE` indexed in two passages, the second opening on `METHADONE_CONTRAST`: the sentence it points back
    to, `METHADONE_BEFORE`, ends the first."""
    from ingest import open_index
    from ingest.chunking import ChunkingSettings

    write_corpus(folder / "docs", {"methadone.md": METHADONE})
    embedder = make_embedder()
    build_index([folder / "docs"], folder / "index", embedder=embedder, chunking=ChunkingSettings(max_tokens=48))
    index = open_index(folder / "index")
    assert [c.sentence_texts()[0] for c in index.chunks] == [
        "Methadone is metabolised by several liver enzymes.",
        METHADONE_CONTRAST,
    ]
    assert index.chunks[0].sentence_texts()[-1] == METHADONE_BEFORE
    return index, embedder


CONVERSION_TABLE = (
    "# Opioid dosages\n\n## Recommendation 4\n\n"
    "Calculate the total daily dosage in morphine milligram equivalents before increasing it.\n\n"
    "### TABLE. Morphine milligram equivalents\n\n"
    "| Opioid | Conversion factor |\n|---|---|\n| Codeine | 0.15 |\n| Hydromorphone | 5.0 |\n"
    "| Methadone | 4.7 |\n| Oxycodone | 1.5 |\n| Tramadol | 0.2 |\n\n"
    "Multiply the dose for each opioid by the conversion factor to determine the dose in MMEs. "
    "Do not use the calculated dose in MMEs to choose the dose when converting one opioid to another. "
    "Use particular caution with methadone dose conversions because methadone has a long and variable half-life.\n"
)


def conversion_table_index(folder: Path) -> tuple[LoadedIndex, HashEmbedder]:
    """`CONVERSION_TABLE` indexed in small passages: the table's rows in two (rows 1 and 2), its notes in three more
    (rows 3 to 5), all under the table's heading."""
    from ingest import open_index
    from ingest.chunking import ChunkingSettings

    write_corpus(folder / "docs", {"mme.md": CONVERSION_TABLE})
    embedder = make_embedder()
    build_index([folder / "docs"], folder / "index", embedder=embedder, chunking=ChunkingSettings(max_tokens=48))
    index = open_index(folder / "index")
    assert [c.text.count("\n|") for c in index.chunks] == [0, 3, 2, 0, 0, 0]  # rows after the first line
    assert "| Methadone | 4.7 |" in index.chunks[2].text and index.chunks[3].text.startswith("Multiply the dose")
    assert len({c.section for c in index.chunks[1:]}) == 1
    return index, embedder


SCOPE = (
    "# Opioid prescribing\n\n## Intended use\n\n"
    "This guideline gives recommendations for outpatients aged 18 years or older with acute, subacute or chronic pain. "
    "Clinicians should weigh benefits and risks with each patient before starting opioids. "
    "This clinical practice guideline is not\n\n"
    "- a replacement for clinical judgment or individualized, person-centered care;\n"
    "- applicable to\n"
    "- management of pain related to sickle cell disease,\n"
    "- management of cancer-related pain, or\n"
    "- palliative care or end-of-life care; or\n"
    "- focused on opioids prescribed for opioid use disorder.\n"
)
"""A box whose list a PDF flattened: "applicable to" opens the items after it, and the whole list is what "This
clinical practice guideline is not" says. Indexed in two passages, the cut inside the list (`scope_index`)."""


def scope_index(folder: Path) -> tuple[LoadedIndex, HashEmbedder]:
    """`SCOPE` indexed in two passages: the first ends on "- applicable to", the second opens on the items."""
    from ingest import open_index
    from ingest.chunking import ChunkingSettings

    write_corpus(folder / "docs", {"scope.md": SCOPE})
    embedder = make_embedder()
    build_index([folder / "docs"], folder / "index", embedder=embedder, chunking=ChunkingSettings(max_tokens=64))
    index = open_index(folder / "index")
    assert len(index.chunks) == 2
    assert index.chunks[0].sentence_texts()[-1].endswith("applicable to")
    assert index.chunks[1].sentence_texts()[0].endswith("sickle cell disease,")
    return index, embedder
