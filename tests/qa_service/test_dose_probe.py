"""`guideline-qa eval dose-probe`: every drug an index doses asked "<drug> dose?", the first dose read judged."""

from __future__ import annotations

from pathlib import Path

from eval.dose_probe import dosed_drugs, outcome_of, probe_doses, to_markdown
from qa_service.schemas import AskResponse, Citation


def _reply(answer: str, *, note: str | None = None, abstained: bool = False) -> AskResponse:
    citation = Citation(id=1, chunk_id="c", doc_id="d.md", title="T", section="S", quote=answer, note=note)
    return AskResponse(
        answer=answer,
        citations=[] if abstained else [citation],
        passages=[],
        abstained=abstained,
        evidence_score=0.9 if not abstained else 0.1,
        composer="extractive",
    )


def test_the_drugs_asked_are_those_the_passages_dose_not_classes_or_radiotherapy() -> None:
    texts = [
        "Give ondansetron 8 mg twice daily; ondansetron 16 mg is the maximum single IV dose.",
        "Offer naloxone to patients on higher dosages of opioids (>=50 MME/day).",  # the class's dose, not naloxone's
        "Patients receiving a single 8-Gy dose were given dexamethasone 8 mg on days 0 to 4.",
    ]
    assert dosed_drugs(texts) == ["ondansetron", "dexamethasone"]


def test_the_first_dose_read_decides_the_outcome() -> None:
    asked = outcome_of("methadone", _reply("Nausea is common. [1] Start methadone at 2.5 mg every 8 hours. [1]"))
    assert asked.outcome == "asked first" and asked.dosed == ("methadone",)
    assert asked.first_dose.startswith("Start methadone")

    other = outcome_of("methadone", _reply("Lenalidomide was given with dexamethasone 40 mg. [1]"))
    assert other.outcome == "another first" and other.dosed == ("dexamethasone",)
    noted = _reply("Lenalidomide was given with dexamethasone 40 mg. [1]", note="gives doses of dexamethasone")
    assert outcome_of("methadone", noted).outcome == "another first, noted"

    assert outcome_of("methadone", _reply("The recommended dose is 4 mg. [1]")).outcome == "asked first"  # unbound
    assert outcome_of("methadone", _reply("Methadone prolongs the QT interval. [1]")).outcome == "no dose"
    assert outcome_of("methadone", _reply("", abstained=True)).outcome == "refused"


def test_a_dose_naming_no_drug_is_the_drug_its_passage_names() -> None:
    """Session 45's probes: "thalidomide starting dose for an elderly pt?" led with "current drug labeling calls for a
    maximum single 16-mg IV dose", a sentence of ondansetron's passage naming no drug: read as asked first, it was
    ondansetron's dose."""
    answer = (
        "Current drug labeling calls for a maximum single 16-mg IV dose. [1] Ondansetron formulations are approved "
        "for elderly patients. [1] Thalidomide is rarely used. [2] By using a low dose (50 mg by mouth every day), "
        "sedation may be avoided. [2]"
    )
    other = outcome_of("thalidomide", _reply(answer))
    assert other.outcome == "another first" and other.dosed == ("ondansetron",)
    assert outcome_of("ondansetron", _reply(answer)).outcome == "asked first"
    # Its passage naming the drug asked, or no drug, leaves the dose the drug asked's.
    assert outcome_of(
        "thalidomide", _reply("Thalidomide is rarely used. [1] Use a low dose of 50 mg. [1]")
    ).outcome == ("asked first")


def test_a_table_row_as_the_answer_says_it_doses_the_drug_its_label_cells_name() -> None:
    row = "Per NCI 2025, Opioid Drug: Tapentadol; Dosing: 100 mg; Comments: Similar to morphine, 30-40 mg. [1]"
    assert outcome_of("tapentadol", _reply(row)).outcome == "asked first"
    assert outcome_of("morphine", _reply(row)).outcome == "another first"  # morphine's name sits in a comment only
    combined = "Opioid Drug: Hydrocodone; Equianalgesic Dosing: Immediate release with acetaminophen: 20 mg. [1]"
    assert outcome_of("hydrocodone", _reply(combined)).dosed == ("hydrocodone",)


def test_the_probe_asks_the_service_about_each_drug_its_index_doses(tmp_path: Path) -> None:
    from tests.qa_service.mini_corpus import pipeline_over

    files = {
        "pain/methadone.md": "# Methadone for cancer pain\n\n"
        "Start methadone at 2.5 mg every 8 hours in opioid-naive patients with cancer pain.\n",
        "nausea/ondansetron.md": "# Ondansetron for chemotherapy-induced nausea\n\n"
        "Give ondansetron 8 mg orally twice daily for moderately emetogenic chemotherapy.\n",
    }
    probe = probe_doses(pipeline_over(tmp_path, files))

    assert sorted(r.drug for r in probe.results) == ["methadone", "ondansetron"]
    assert {r.question for r in probe.results} == {"methadone dose?", "ondansetron dose?"}
    report = to_markdown([probe])
    assert "| drugs asked |" in report and "| 2 |" in report
    for result in probe.results:  # each answer's first dose is the drug's own, or the service refused
        assert result.outcome in ("asked first", "refused"), result


def test_the_cli_writes_the_report_and_each_drugs_outcome(
    mini_pipeline, mini_index_dir: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    import json

    from guideline_qa import cli
    from qa_service.pipeline import QAPipeline

    # the mini index is built with the test embedder: the CLI gets the pipeline over it
    monkeypatch.setattr(QAPipeline, "from_settings", classmethod(lambda cls, settings: mini_pipeline))

    out, rows = tmp_path / "probe.md", tmp_path / "probe.jsonl"
    code = cli.main(["eval", "dose-probe", "--index", str(mini_index_dir), "--out", str(out), "--json", str(rows)])

    assert code == 0
    report = out.read_text(encoding="utf-8")
    assert report in capsys.readouterr().out
    outcomes = [json.loads(line) for line in rows.read_text(encoding="utf-8").splitlines()]
    assert outcomes and all(o["question"] == f"{o['drug']} dose?" for o in outcomes)
    assert f"| {len(outcomes)} |" in report.splitlines()[2]


def test_the_cli_names_a_missing_index(tmp_path: Path, capsys) -> None:
    from guideline_qa import cli

    assert cli.main(["eval", "dose-probe", "--index", str(tmp_path / "nowhere"), "--quiet"]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_another_question_template_is_asked_of_each_drug(tmp_path: Path) -> None:
    from tests.qa_service.mini_corpus import pipeline_over

    files = {
        "pain/methadone.md": "# Methadone\n\nStart methadone at 2.5 mg every 8 hours in adults with cancer pain.\n"
    }
    probe = probe_doses(pipeline_over(tmp_path, files), template="{drug} dose in renal impairment?")

    assert [r.question for r in probe.results] == ["methadone dose in renal impairment?"]
    assert '"{drug} dose in renal impairment?"' in to_markdown([probe])


def test_a_template_without_the_drug_is_refused_naming_it(tmp_path: Path, capsys) -> None:
    from guideline_qa import cli

    code = cli.main(["eval", "dose-probe", "--index", str(tmp_path / "nowhere"), "--question", "dose?", "--quiet"])
    assert code == 2
    assert "'dose?' has no \"{drug}\"" in capsys.readouterr().err
