"""Small passes that combine atoms: fractionation ("1 x 8 Gy", "20 Gy/5#"), repeats, citations, lists ("4, 8 and 12
weeks"), a part of a period, a quantity restated in brackets, counts."""

from __future__ import annotations

from dataclasses import replace

from qa_service.quantities.atoms import _Atom, _gy, _merge, _q, _word
from qa_service.quantities.words import FUNCTION_WORDS, GUIDELINE_BODIES


def _radiotherapy(atoms: list[_Atom], text: str) -> None:
    """Fractionation: 1 x 8 Gy, 8 Gy in a single fraction, 20 Gy/5 fractions, a single fraction of 8 Gy, 8 Gy x 1."""
    for i in range(len(atoms)):
        if i >= len(atoms):
            break
        a, b, c = (atoms[k] if k < len(atoms) else None for k in range(i, i + 3))
        count, gy_a, gy_b, gy_c = _q(a, "fractions", "number"), _gy(a), _gy(b), _gy(c)
        of_or_x = (
            (count.kind == "fractions" and _word(b, "of")) or (count.kind == "number" and _word(b, "x"))
            if count
            else False
        )
        if count and gy_c and of_or_x:  # 10 fractions of 3 Gy, 5 x 4 Gy
            _merge(atoms, i, i + 3, replace(gy_c, role="per fraction", fractions=count.low), text)
        elif gy_a and _word(b, "in", "/") and (n := _q(c, "fractions", "number")):  # 20 Gy in 5 (fractions)
            _merge(atoms, i, i + 3, replace(gy_a, role="total", fractions=n.low), text)
        elif gy_a and _word(b, "x") and (n := _q(c, "number", "repeat", "fractions")):  # 8 Gy x 1
            _merge(atoms, i, i + 3, replace(gy_a, role="per fraction", fractions=n.low), text)
        elif a is not None and count and count.kind == "number" and gy_b:  # a single 8 Gy fraction, five 4 Gy fractions
            per = _word(c, "fraction", "fractions")
            if a.single or per:
                _merge(
                    atoms,
                    i,
                    i + (3 if per else 2),
                    replace(gy_b, role="per fraction" if per else "total", fractions=count.low),
                    text,
                )
        elif count and count.kind == "fractions" and gy_b:  # single-fraction 8 Gy
            _merge(atoms, i, i + 2, replace(gy_b, role="total", fractions=count.low), text)
        elif gy_a and gy_a.fractions is None and _word(b, "per", "each") and _word(c, "fraction"):  # 3 Gy per fraction
            _merge(atoms, i, i + 3, replace(gy_a, role="per fraction"), text)
        elif gy_a and gy_a.fractions is None and _word(b, "fraction", "fractions"):  # 3 Gy fractions
            _merge(atoms, i, i + 2, replace(gy_a, role="per fraction"), text)


def _repeats(atoms: list[_Atom], text: str) -> None:
    """ "x2 d" is 2 days; "x5" on its own is five repeats."""
    for i in range(len(atoms) - 1):
        if i + 1 < len(atoms) and _word(atoms[i], "x") and (q := _q(atoms[i + 1], "number", "time")):
            _merge(atoms, i, i + 2, replace(q, kind="repeat" if q.kind == "number" else q.kind), text)


def _citations(atoms: list[_Atom], text: str) -> None:
    """A year after an issuing body ("ESMO 2020", "CCO/ASCO 2017") is a citation, not a quantity."""
    for i, atom in enumerate(atoms):
        q = _q(atom, "number")
        if q is None or not (1990 <= q.low <= 2035 and q.low == q.high and q.low.is_integer() and q.op == "="):
            continue
        bodies: list[str] = []
        k = i - 1
        while k >= 0 and atoms[k].kind in ("word", "sym"):
            name = atoms[k].name
            if name == "society" and k >= 1 and atoms[k - 1].name == "endocrine":
                bodies.append("endocrine society")
                k -= 2
            elif name in GUIDELINE_BODIES:
                bodies.append(name)
                k -= 1
            elif name in ("/", "(", "-") and (bodies or (name == "(" and k == i - 1)):
                k -= 1
            else:
                break
        if bodies:
            atom.kind, atom.name = "citation", "|".join(bodies)


def _lists(atoms: list[_Atom], text: str) -> None:
    """ "at 4, 8 and 12 weeks": the bare numbers of a list take the unit of its last member."""
    for i, atom in enumerate(atoms):
        q = _q(atom)
        if q is None or not q.unit or q.kind == "interval" or q.fractions is not None or q.op != "=":
            continue
        factor = q.numbers[0][2] if q.numbers else 1.0
        k = i - 1
        while k >= 1 and _word(atoms[k], ",", "and", "or") and (bare := _q(atoms[k - 1], "number")) is not None:
            numbers = tuple((t, v, factor) for t, v, _ in bare.numbers)
            low, high = bare.low * factor, bare.high * factor
            atoms[k - 1].quantity = replace(q, low=low, high=high, text=bare.text, numbers=numbers, start=bare.start)
            k -= 2


def _part_of_period(atoms: list[_Atom], text: str) -> None:
    """ "3 of every 4 weeks": 3 weeks of a 4-week cycle, not a dose every 4 weeks."""
    for i in range(len(atoms) - 2):
        part = _q(atoms[i], "number")
        k = i + 2 if _word(atoms[i + 1], "of") else i + 3 if _word(atoms[i + 1], "out") else 0
        period = _q(atoms[k], "interval") if 0 < k < len(atoms) and _word(atoms[k - 1], "of") else None
        if part is not None and period is not None and period.text.lower().startswith("every"):
            atoms[i].quantity = replace(part, kind="time", unit=period.unit)
            atoms[k].quantity = replace(period, kind="cycle")


def _equivalents(atoms: list[_Atom], text: str) -> None:
    """ "every 3 months (12 weeks)", "above 14 mg/dL, about 3.5 mmol/L": the second restates the first."""
    for i in range(len(atoms) - 2):
        first, second = _q(atoms[i]), _q(atoms[i + 2])
        restated = _word(atoms[i + 1], "(") or (_word(atoms[i + 1], ",") and atoms[i + 2].name == "hedged")
        if first is None or second is None or not restated:
            continue
        if first.kind == "interval" and second.kind == "time":
            atoms[i + 2].quantity = replace(second, kind="interval", times=first.times, op=first.op)
        elif second.op == "=" and first.op != "=" and second.kind == first.kind:
            atoms[i + 2].quantity = replace(second, op=first.op)


def _counts(atoms: list[_Atom], text: str) -> None:
    """A bare number before a noun counts something: "three criteria", "two or more risk factors", "3-drug"."""
    for i, atom in enumerate(atoms[:-1]):
        q = _q(atom, "number")
        if q is None or atom.single:
            continue
        nxt = atoms[i + 1]
        noun = nxt.kind == "word" and nxt.name.isalpha() and nxt.name not in FUNCTION_WORDS
        if noun or (_word(nxt, "-") and i + 2 < len(atoms) and atoms[i + 2].kind == "word"):
            atom.quantity = replace(q, kind="count")
