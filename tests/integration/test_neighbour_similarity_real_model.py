"""The index's neighbour similarity with the real encoder: pages written to one template sit closer together than
guideline chapters about different things, so the gate reads a question's best cosine in the first kind of corpus
as weaker evidence."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from ingest import SentenceTransformerEmbedder
from qa_service.gate_features import neighbour_similarity

pytestmark = pytest.mark.slow

TEMPLATE = [
    ("gout", "What are the symptoms of gout? The symptoms of gout include sudden joint pain and swelling."),
    ("gout", "What causes gout? Gout is caused by uric acid crystals in the joints."),
    ("lupus", "What are the symptoms of lupus? The symptoms of lupus include joint pain, rash and fatigue."),
    ("lupus", "What causes lupus? Lupus is caused by the immune system attacking the body's own tissues."),
    ("psoriasis", "What are the symptoms of psoriasis? The symptoms of psoriasis include red scaly skin patches."),
    ("psoriasis", "What causes psoriasis? Psoriasis is caused by an overactive immune response in the skin."),
]
CHAPTERS = [
    ("radiotherapy", "A single fraction of 8 Gy is recommended for painful uncomplicated bone metastases."),
    ("radiotherapy", "Re-irradiation may be considered when pain recurs at a previously treated site."),
    ("opioids", "Clinicians should avoid increasing the opioid dosage above 50 morphine milligram equivalents a day."),
    ("opioids", "Naloxone should be offered when the risk of overdose is increased."),
    ("screening", "Annual low-dose computed tomography is recommended for adults aged 50 to 80 years who smoke."),
    ("screening", "Screening should stop once a person has not smoked for 15 years."),
]


def _index(embedder: SentenceTransformerEmbedder, records: list[tuple[str, str]]) -> SimpleNamespace:
    vectors = np.asarray(embedder.embed([text for _, text in records]), dtype=np.float32)
    return SimpleNamespace(vectors=vectors, chunks=[SimpleNamespace(doc_id=doc) for doc, _ in records])


def test_template_pages_sit_closer_to_another_document_than_guideline_chapters(
    real_embedder: SentenceTransformerEmbedder,
) -> None:
    template = neighbour_similarity(_index(real_embedder, TEMPLATE))
    chapters = neighbour_similarity(_index(real_embedder, CHAPTERS))

    assert template is not None and chapters is not None
    assert template > chapters + 0.1
