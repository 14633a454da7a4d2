"""Write `qa_service/data/drug_names.tsv`: the one-word drug names of a maintained drug dictionary, each with the
drug it names, for the dose checks and the grounding check (`qa_service.quantities.drugs`).

The dictionary is the PyPI package drug-named-entity-recognition (MIT licence; its names come from the DrugBank
open vocabulary, MeSH, MedlinePlus and the NHS). It is needed only to rebuild the file (`make drug-names`), never
at run time. Kept: names of one word, at least four characters, of a substance DrugBank or MedlinePlus lists (a
MeSH class such as "opioids" or "antiemetics" is not one drug); left out: whole word pieces of the encoder's
vocabulary (everyday English: "caps", "sits", "diamonds", but also "insulin"), which would make ordinary words
drugs. Each name maps to the dictionary's canonical name ("xgeva" -> "denosumab", "delta-9-thc" -> "dronabinol"),
so two names of one drug are the same drug to the checks.

    python -m train.drug_names [--out qa_service/data/drug_names.tsv]
"""

from __future__ import annotations

import argparse
import bz2
import pickle  # the package's own dictionary file, read once to build the list
import re
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from ingest.embedding import default_model_path
from qa_service.quantities.drugs import DICTIONARY_WORD

OUT = Path(__file__).resolve().parents[1] / "qa_service" / "data" / "drug_names.tsv"
PACKAGE = "drug-named-entity-recognition"
ONE_WORD = re.compile(DICTIONARY_WORD)  # the words `drug_mentions` looks up, and no others
SUBSTANCE_IDS = ("drugbank_id", "medline_plus_id")


def encoder_vocabulary() -> set[str]:
    """The whole words of the packaged encoder's word-piece vocabulary (everyday English to the gate: one piece)."""
    lines = (default_model_path() / "vocab.txt").read_text(encoding="utf-8").splitlines()
    return {line for line in lines if line.isalpha()}


def drug_names(dictionary: dict[str, Any], everyday: set[str]) -> dict[str, str]:
    """Each kept name (see the module's docstring) -> the canonical name of the drug it names."""
    to_canonical: dict[str, list[str]] = dictionary["drug_variant_to_canonical"]
    data: dict[str, dict[str, Any]] = dictionary["drug_canonical_to_data"]
    names: dict[str, str] = {}
    for name, canonicals in to_canonical.items():
        if not ONE_WORD.fullmatch(name) or name in everyday:
            continue
        substances = [c for c in canonicals if any(key in data.get(c, {}) for key in SUBSTANCE_IDS)]
        if substances:
            names[name] = substances[0]
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    try:
        source = resources.files("drug_named_entity_recognition").joinpath("drug_ner_dictionary.pkl.bz2")
    except ModuleNotFoundError:
        print(f"train.drug_names needs the package {PACKAGE}: pip install {PACKAGE}")
        return 2
    with source.open("rb") as raw, bz2.open(raw) as unpacked:
        dictionary = pickle.load(unpacked)  # a file of the installed package, not user input
    names = drug_names(dictionary, encoder_vocabulary())
    version = metadata.version(PACKAGE)
    header = (
        f"# One-word drug names and the drug each names, from {PACKAGE} {version} (MIT licence; DrugBank open\n"
        "# vocabulary, MeSH, MedlinePlus, NHS). Rebuilt by `make drug-names` (python -m train.drug_names).\n"
    )
    body = "".join(f"{name}\t{canonical}\n" for name, canonical in sorted(names.items()))
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(header + body, encoding="utf-8")
    tmp.replace(args.out)
    print(f"wrote {len(names)} drug names to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
