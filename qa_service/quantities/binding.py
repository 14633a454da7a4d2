"""Binding: which drug, dose, route and interval belong together (`Regimen`), sentence by sentence."""

from __future__ import annotations

from qa_service.quantities.atoms import _Atom, _q, _word
from qa_service.quantities.model import Quantity, Reading, Regimen
from qa_service.quantities.words import _REGIMEN_INITIALS


class _Binder:
    """Walks the atoms once. A regimen starts at each drug name and at each dose after a dose; the routes and
    frequencies that follow join the current regimen until the clause ends."""

    def __init__(self, atoms: list[_Atom], text: str = "") -> None:
        self.atoms = atoms
        self.text = text  # the text the atoms were read from: a regimen's initials keep their capitals there
        self.reading = Reading()
        self.current: Regimen | None = None
        self.sentence_drug: str | None = None  # the last drug named in the sentence: a later dose inherits it
        self.pending: list[_Atom] = []  # routes and frequencies written before their drug or dose ("oral aprepitant")
        self.linked: list[Regimen] = []  # "hydrocodone 5 mg and acetaminophen 325 mg taken four times a day"
        self.bound: set[int] = set()  # ids of quantities a regimen holds as its dose or interval
        self.drug_taken: set[int] = set()  # drug atoms a dose before them already used ("4 mg of zoledronic acid")
        self.sentence: tuple[set[str], set[str], list[Quantity]] = (set(), set(), [])
        self.sentence_first = 0  # the first regimen of the sentence being read
        self.sentence_drugs: list[str] = []  # the drugs the sentence names, in order

    def bind(self) -> Reading:
        for index, atom in enumerate(self.atoms):
            q = atom.quantity
            if atom.kind == "ident":
                self.reading.identifiers.setdefault(atom.name, atom.start)
            elif atom.kind == "citation" and q is not None:
                for body in atom.name.split("|"):
                    self.reading.citations.setdefault((body, int(q.low)), atom.start)
            elif atom.kind in ("break", "clause"):
                self.current, self.pending, self.linked = None, [], []
                if atom.kind == "break":
                    self._close_sentence()
            elif atom.kind == "drug":
                self._drug(index, atom)
            elif atom.kind == "word" and atom.name == "respectively":
                self._respectively()
            elif atom.kind == "route" or (q is not None and q.kind == "interval"):
                self._modifier(index, atom)
            elif q is not None and q.kind == "dose":
                self._dose(index, q)
            elif q is not None:
                self._other_quantity(q)
        self._close_sentence()
        for atom in self.atoms:
            if atom.kind == "quantity" and atom.quantity is not None:
                self.reading.quantities.append(atom.quantity)
                if id(atom.quantity) not in self.bound:
                    self.reading.free.append(atom.quantity)
        return self.reading

    def _close_sentence(self) -> None:
        drugs, routes, quantities = self.sentence
        self.reading.sentences.append((frozenset(drugs), frozenset(routes), quantities))
        self.sentence, self.sentence_drug = (set(), set(), []), None
        self.sentence_first, self.sentence_drugs = len(self.reading.regimens), []

    def _respectively(self) -> None:
        """ "The usual daily doses for tamoxifen and raloxifene are 20 mg and 60 mg, respectively": the sentence's
        doses go to its drugs in the order both are written, when there are as many of each (two or more); read
        left to right, both doses would be raloxifene's."""
        drugs = list(dict.fromkeys(self.sentence_drugs))
        dosed = [r for r in self.reading.regimens[self.sentence_first :] if r.dose is not None and r.dose.unit != "Gy"]
        if len(drugs) >= 2 and len(dosed) == len(drugs):
            for regimen, drug in zip(dosed, drugs, strict=True):
                regimen.drug = drug

    def _start(self, regimen: Regimen, index: int) -> Regimen:
        """Open a regimen; one right after "<dose> and" shares the frequency that follows with the one before."""
        previous = self.current
        joined = (
            index > 1 and _word(self.atoms[index - 1], "and") and self.atoms[index - 2].kind in ("quantity", "route")
        )
        if (
            joined
            and previous is not None
            and previous.dose is not None
            and previous.dose.unit != "Gy"
            and not previous.intervals
        ):
            self.linked = [*self.linked, previous] if previous not in self.linked else self.linked
        else:
            self.linked = []
        self.reading.regimens.append(regimen)
        self.current = regimen
        for modifier in self.pending:
            _attach(regimen, modifier, self.bound)
        self.pending = []
        return regimen

    def _drug(self, index: int, atom: _Atom) -> None:
        self.reading.drugs.add(atom.name)
        self.sentence[0].add(atom.name)
        self.sentence_drugs.append(atom.name)
        self.sentence_drug = atom.name
        if index not in self.drug_taken:
            self._start(Regimen(drug=atom.name, start=atom.start), index)

    def _modifier(self, index: int, atom: _Atom) -> None:
        if atom.kind == "route":
            self.sentence[1].add(atom.name)
        elif atom.quantity is not None:
            self.sentence[2].append(atom.quantity)
        if _modifies_next(self.atoms, index):
            self.pending.append(atom)
        elif self.current is not None:
            for regimen in [*self.linked, self.current]:
                _attach(regimen, atom, self.bound)

    def _other_quantity(self, q: Quantity) -> None:
        self.sentence[2].append(q)
        current = self.current
        if current is None:
            return
        if q.kind == "number" and current.drug is not None:
            current.values.append(q)
        elif q.kind in ("time", "index") and current.dose is not None:  # "4 mg IV over 15 minutes", "on day 3"
            for regimen in [*self.linked, current]:
                regimen.timing.append(q)
            self.bound.add(id(q))

    def _dose(self, index: int, q: Quantity) -> None:
        self.sentence[2].append(q)
        self.bound.add(id(q))
        following = _drug_right_after(self.atoms, index)
        current = self.current
        if q.unit == "Gy":  # a radiation dose belongs to no drug
            self._start(Regimen(dose=q, start=q.start), index)
        elif following is not None:
            self.drug_taken.add(following)
            self._start(Regimen(drug=self.atoms[following].name, dose=q, start=q.start), index)
        elif current is not None and current.dose is None and current.drug is not None:
            current.dose = q
            for modifier in self.pending:
                _attach(current, modifier, self.bound)
            self.pending = []
        elif (regimen_name := self._regimen_named_before(index)) is not None:
            self._start(Regimen(drug=regimen_name, dose=q, start=q.start), index)
        else:
            drug = current.drug if current is not None else self.sentence_drug
            regimen = self._start(Regimen(drug=drug, dose=q, start=q.start), index)
            if current is not None and current.drug == drug:  # "subcutaneous granisetron, 5 mg or 10 mg"
                regimen.routes |= current.drug_routes
                regimen.drug_routes |= current.drug_routes

    def _regimen_named_before(self, index: int) -> str | None:
        """The regimen a bracketed dose belongs to when a combination's initials name it: "Pd (40 mg weekly)" is the
        dose of a regimen (here its dexamethasone's), not of the drug the sentence before named."""
        if index < 2 or not _word(self.atoms[index - 1], "("):
            return None
        before = self.atoms[index - 2]
        if before.kind != "word":
            return None
        written = self.text[before.start : before.end]
        return before.name if _REGIMEN_INITIALS.match(written) else None


def _bind(atoms: list[_Atom], text: str = "") -> Reading:
    return _Binder(atoms, text).bind()


def _attach(regimen: Regimen, atom: _Atom, bound: set[int]) -> None:
    if atom.kind == "route":
        regimen.routes.add(atom.name)
        if regimen.dose is None:
            regimen.drug_routes.add(atom.name)
    elif atom.quantity is not None:
        regimen.intervals.append(atom.quantity)
        bound.add(id(atom.quantity))


def _modifies_next(atoms: list[_Atom], index: int) -> bool:
    """A route or frequency written before its drug ("monthly IV pamidronate", "oral aprepitant") or before the
    word dose ("a daily dosage of 20-30 MME") belongs to what comes next."""
    if _q(atoms[index], "interval") and index + 1 < len(atoms) and _word(atoms[index + 1], "dose", "dosage", "doses"):
        return True
    for atom in atoms[index + 1 :]:
        if atom.kind == "drug":
            return True
        if not (atom.kind == "route" or _q(atom, "interval") or _word(atom, "a", "an", "the")):
            return False
    return False


def _drug_right_after(atoms: list[_Atom], index: int) -> int | None:
    """The drug named right after a dose ("1,000 IU vitamin D", "4 mg of zoledronic acid"), if any."""
    k = index + 2 if index + 1 < len(atoms) and _word(atoms[index + 1], "of") else index + 1
    return k if k < len(atoms) and atoms[k].kind == "drug" else None
