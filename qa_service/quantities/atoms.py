"""Atoms, what the scanner reads a text into (a quantity, a drug, a route, a word, a break ...), and small helpers the
combining and binding passes share."""

from __future__ import annotations

from dataclasses import dataclass, replace

from qa_service.quantities.model import Quantity


@dataclass
class _Atom:
    kind: str  # quantity, drug, route, ident, citation, clause (break), break (end of sentence), word, sym
    start: int
    end: int
    name: str = ""  # the word, drug, route or identifier; "hedged" on a quantity written after "about"
    quantity: Quantity | None = None
    single: bool = False  # the number is "single"


def _q(atom: _Atom | None, *kinds: str) -> Quantity | None:
    """The atom's quantity, if it is one (of one of `kinds`, when given)."""
    if atom is None or atom.kind != "quantity" or atom.quantity is None:
        return None
    return atom.quantity if not kinds or atom.quantity.kind in kinds else None


def _gy(atom: _Atom | None) -> Quantity | None:
    q = _q(atom, "dose")
    return q if q is not None and q.unit == "Gy" else None


def _word(atom: _Atom | None, *words: str) -> bool:
    return atom is not None and atom.kind in ("word", "sym") and atom.name in words


def _merge(atoms: list[_Atom], i: int, j: int, q: Quantity, text: str) -> None:
    """Replace atoms i..j-1 by one quantity atom."""
    start, end = atoms[i].start, atoms[j - 1].end
    numbers = tuple(n for a in atoms[i:j] if a.quantity for n in a.quantity.numbers)
    atoms[i:j] = [
        _Atom("quantity", start, end, quantity=replace(q, text=text[start:end], numbers=numbers, start=start))
    ]
