"""The scanner: a normalised text's tokens -> atoms (numbers with units, frequencies, drugs, routes, identifiers,
citations, words, clause and sentence breaks), left to right."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace

from qa_service.quantities.atoms import _Atom, _q, _word
from qa_service.quantities.drugs import drug_mentions
from qa_service.quantities.model import Quantity
from qa_service.quantities.tokens import _Token, _tokens, _value
from qa_service.quantities.words import (
    _BEFORE_NEGATIVE,
    _CLAUSE_BREAKS_BY_FIRST_WORD,
    ABBREVIATIONS_WITH_STOP,
    AGE_WORDS,
    CLAUSE_BREAK_SYMBOLS,
    COUNTED_NOUNS,
    FREQUENCY_WORDS,
    HEDGES,
    INDEX_WORDS,
    INFUSION_WORDS,
    NUMBER_WORDS,
    OPERATOR_GAP,
    OPERATOR_WORDS,
    OPERATORS_AFTER,
    OPERATORS_BEFORE,
    PERIODIC_SUFFIX,
    ROMAN_CONTEXT,
    ROUTE_ABBREVIATIONS,
    ROUTES,
    SCALE_WORDS,
    SCHEDULE_NOUNS,
    TIME_UNITS,
    TIMES_WORDS,
    UNITS,
)


@dataclass(frozen=True)
class _Span:
    """A number or range read at some token: its bounds, the index after it and the numbers as written."""

    low: float
    high: float
    end: int
    written: tuple[tuple[str, float], ...]
    single: bool = False


_Frequency = tuple[tuple[float, float], _Span, str, int]  # (times, every, unit, index after it)


# A class of drugs a dose may belong to, read as a drug when doses are bound (never as a drug a question names):
# "patients taking higher dosages of opioids (>=50 MME/day)" doses opioids, not the naloxone named before them.
_DOSED_CLASS = re.compile(r"(?<![\w-])opioids?(?![\w-])", re.IGNORECASE)


class _Scanner:
    """Reads the tokens of one normalised text into atoms, left to right; each reader returns the next index."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        starts = [t.start for t in self.toks]
        self.drug_at: dict[int, tuple[int, str]] = {}  # first token -> (token after it, drug)
        classes = [(m.start(), m.end(), "opioid") for m in _DOSED_CLASS.finditer(text)]
        for start, end, name in sorted(drug_mentions(text) + classes):
            first, after = bisect.bisect_left(starts, start), bisect.bisect_left(starts, end)
            if first < after:
                self.drug_at[first] = (after, name)
        self.atoms: list[_Atom] = []

    def scan(self) -> list[_Atom]:
        i = 0
        while i < len(self.toks):
            if i and "\n" in self.text[self.toks[i - 1].end : self.toks[i].start] and self._line_ends_sentence(i):
                self.atoms.append(_Atom("break", self.toks[i].start, self.toks[i].start))
            if i in self.drug_at:
                after, name = self.drug_at[i]
                self._emit("drug", i, after, name=name)
                i = after
                continue
            i = self._identifier(i) or self._frequency(i) or self._quantity(i) or self._route(i) or self._other(i)
        return self.atoms

    # -- helpers ---------------------------------------------------------------------------------------------------
    def low(self, i: int) -> str:
        return self.toks[i].low if 0 <= i < len(self.toks) else ""

    def kind(self, i: int) -> str:
        return self.toks[i].kind if 0 <= i < len(self.toks) else ""

    def glued(self, i: int) -> bool:
        return 0 <= i < len(self.toks) and not self.toks[i].spaced

    def span(self, i: int, j: int) -> str:
        return self.text[self.toks[i].start : self.toks[j - 1].end]

    def _emit(self, kind: str, i: int, j: int, name: str = "") -> None:
        self.atoms.append(_Atom(kind, self.toks[i].start, self.toks[j - 1].end, name=name))

    # -- numbers and units -------------------------------------------------------------------------------------
    def number(self, i: int) -> _Span | None:
        """A number at token i: digits, a fraction ("1/2"), a negative number, number words, or "(a) single"."""
        t = self.toks[i] if 0 <= i < len(self.toks) else None
        if t is None:
            return None
        if t.kind == "num":
            fraction = self.low(i + 1) == "/" and self.kind(i + 2) == "num" and self.glued(i + 1) and self.glued(i + 2)
            if fraction and self.unit(i + 3) is None and self.low(i + 3) not in TIME_UNITS:  # "1/2", not "20 Gy/5"
                value = _value(t.text) / max(_value(self.toks[i + 2].text), 1e-9)
                return _Span(value, value, i + 3, ((self.span(i, i + 3), value),))
            value = _value(t.text)
            return _Span(value, value, i + 1, ((t.text.replace(",", ""), value),))
        if t.text == "-" and self.kind(i + 1) == "num" and self.glued(i + 1):  # "below -2.0", not the "-" of "10-20"
            if i == 0 or t.spaced or self.low(i - 1) in _BEFORE_NEGATIVE:
                value = -_value(self.toks[i + 1].text)
                return _Span(value, value, i + 2, ((f"-{self.toks[i + 1].text}", value),))
            return None
        if t.low == "single" or (t.low == "a" and self.low(i + 1) == "single"):
            j = i + 1 if t.low == "single" else i + 2
            k = j + 1 if self.low(j) == "-" else j
            if self.low(k) in COUNTED_NOUNS or self.kind(k) == "num":
                return _Span(1.0, 1.0, j, (), single=True)
            return None
        return self._number_words(i)

    def _number_words(self, i: int) -> _Span | None:
        """ "eight", "twenty-four", "one hundred and twenty"."""
        if self.low(i) not in NUMBER_WORDS:
            return None
        total, current, j = 0, 0, i
        while True:
            w = self.low(j)
            if w in NUMBER_WORDS:
                current += NUMBER_WORDS[w]
                j += 1
                if self.low(j) == "-" and self.low(j + 1) in NUMBER_WORDS and NUMBER_WORDS[w] >= 20:
                    j += 1
            elif w in SCALE_WORDS:
                current = max(current, 1) * SCALE_WORDS[w]
                total, current = (total + current, 0) if w == "thousand" else (total, current)
                j += 2 if self.low(j + 1) == "and" and self.low(j + 2) in NUMBER_WORDS else 1
            else:
                break
        value = float(total + current)
        if value == 1 and j == i + 1 and not self._counted(j) and self.low(j) not in ("to", "or"):
            return None  # "one of the options" states no quantity
        return _Span(value, value, j, ((self.span(i, j), value),))

    def _counted(self, j: int) -> bool:
        k = j + 1 if self.low(j) == "-" else j
        return self.low(k) in COUNTED_NOUNS or self.low(k) in TIME_UNITS or self.unit(k) is not None

    def unit(self, j: int) -> tuple[str, float, str, int] | None:
        """The unit starting at token j: (unit, factor, kind, index after it). The longest alias wins."""
        if j >= len(self.toks) or self.toks[j].kind == "num":
            return None
        best: tuple[str, float, str, int] | None = None
        built = ""
        for k in range(j, min(j + 7, len(self.toks))):
            tk = self.toks[k]
            if k > j and tk.spaced and not (tk.kind == "word" and self.toks[k - 1].kind == "word"):
                break
            built += (" " if k > j and tk.spaced else "") + tk.low
            if built in UNITS:
                best = (*UNITS[built], k + 1)
            elif k == j and built in TIME_UNITS:
                best = (TIME_UNITS[built], 1.0, "time", k + 1)
        return best

    def _range(self, i: int) -> _Span | None:
        """A number or a range at i: "10", "10-20", "3 to 4", "1 to <20", "between 3 and 6"."""
        if self.low(i) == "between":
            first = self.number(i + 1)
            if first and self.low(first.end) == "and" and (second := self.number(first.end + 1)):
                return _Span(first.low, second.high, second.end, first.written + second.written)
            return None
        first = self.number(i)
        if first is None or first.single:
            return first
        if self.low(first.end) == "and" and self._after_between() and (second := self.number(first.end + 1)):
            return _Span(first.low, second.high, second.end, first.written + second.written)
        sep = first.end
        if self.low(sep) == "to" or (self.low(sep) == "-" and self.kind(sep + 1) != "word"):
            k = sep + 2 if self.low(sep + 1) in ("<", ">", "<=", ">=") else sep + 1
            second = self.number(k)
            if second and not second.single and second.low >= first.low:
                return _Span(first.low, second.high, second.end, first.written + second.written)
        return first

    def _after_between(self) -> bool:
        """ "between" opened one of the last few words: "between the ages of 10 and 19 years"."""
        for atom in reversed(self.atoms[-4:]):
            if atom.kind != "word":
                return False
            if atom.name == "between":
                return True
        return False

    # -- identifiers -------------------------------------------------------------------------------------------
    def _identifier(self, i: int) -> int | None:
        """Letters and digits glued together that are not a quantity ("5-HT3", "NK-1", "CYP3A4") are names."""
        t = self.toks[i]
        if t.kind == "sym" or (not t.spaced and i and self.toks[i - 1].kind != "sym"):
            return None
        j = i + 1
        while self.glued(j) and (
            self.kind(j) != "sym" or (self.low(j) in "-/." and self.glued(j + 1) and self.kind(j + 1) != "sym")
        ):
            j += 1
        parts = self.toks[i:j]
        if not {"num", "word"} <= {p.kind for p in parts} or _glued_quantity(parts):
            return None
        self._emit("ident", i, j, name=re.sub(r"[-\s]", "", self.span(i, j).lower()))
        return j

    # -- comparisons -------------------------------------------------------------------------------------------
    def _absorb_comparison(self, start: int) -> tuple[str, bool, int]:
        """Pop a comparison phrase that ends the atoms read so far: (op, states an age, where the quantity starts)."""
        tail: list[_Atom] = []
        for atom in reversed(self.atoms[-6:]):
            if atom.kind not in ("word", "sym"):
                break
            tail.insert(0, atom)
        names = [a.name for a in tail]
        for gap in range(3):  # "a maximum dose of 50 mg": up to two words between the phrase and the number
            if gap and (len(names) < gap or names[-gap] not in OPERATOR_GAP):
                break
            head = names[: len(names) - gap]
            for size in (3, 2, 1):
                phrase = tuple(head[-size:])
                if len(head) < size or phrase not in OPERATORS_BEFORE:
                    continue
                if phrase == ("over",) and self._infusion_time(len(self.atoms) - gap - 2):
                    continue
                op, age = OPERATORS_BEFORE[phrase]
                first = self.atoms[-(size + gap)].start
                del self.atoms[-(size + gap) :]
                return op, age, first
        return "=", False, start

    def _infusion_time(self, index: int) -> bool:
        """ "over" after a route, a dose or "infused" is an infusion time ("4 mg IV over 15 minutes")."""
        if index < 0:
            return False
        before = self.atoms[index]
        return before.kind == "route" or _q(before, "dose") is not None or before.name in INFUSION_WORDS

    def _comparison_after(self, j: int) -> tuple[str, bool, int] | None:
        """ "3 months or more", "18 years or older": (op, states an age, index after it)."""
        for size in (3, 2, 1):
            phrase = tuple(self.low(j + k) for k in range(size))
            if phrase in OPERATORS_AFTER:
                return (*OPERATORS_AFTER[phrase], j + size)
        return None

    def _absorb_hedge(self) -> int | None:
        """Pop "about" or "~" before a number; returns where it started."""
        if self.atoms and self.atoms[-1].kind in ("word", "sym") and self.atoms[-1].name in HEDGES:
            return self.atoms.pop().start
        return None

    # -- frequencies -------------------------------------------------------------------------------------------
    def _frequency(self, i: int) -> int | None:
        """every 4 weeks, q4w, q3-4 weeks, 4-weekly, monthly, twice daily, bid, 3 times a day, 8 mg/d."""
        found = (
            self._every(i) or self._frequency_word(i) or self._times_per(i) or self._per_time(i) or self._periodic(i)
        )
        if found is None:
            return None
        times, every, unit, j = found
        after = j
        if self._after_dose() and (comparison := self._comparison_after(j)) is not None:  # "50 MME/day or more"
            dose = next(a for a in reversed(self.atoms) if a.kind != "route")
            if dose.quantity is not None and dose.quantity.op == "=":
                dose.quantity = replace(dose.quantity, op=comparison[0])
            after = comparison[2]
        op, _, start = self._absorb_comparison(self.toks[i].start)
        if op == "=" and after == j and (comparison := self._comparison_after(j)) is not None:  # "or more often"
            op, after = comparison[0], comparison[2]
        end = self.toks[j - 1].end
        written = tuple((text, value, 1.0) for text, value in every.written)
        q = Quantity(
            "interval", every.low, every.high, unit, op, self.text[start:end], times, numbers=written, start=start
        )
        self.atoms.append(_Atom("quantity", start, end, quantity=q))
        return after

    def _every(self, i: int) -> _Frequency | None:
        """every 4 weeks, every 3 to 4 weeks, every other day, every week, q4w, q 4 weeks, q4-6h."""
        w = self.low(i)
        if not (w == "every" or (w == "q" and self.kind(i + 1) == "num")):
            return None
        every = _Span(1.0, 1.0, i + 1, ())
        if w == "every" and self.low(i + 1) == "other":
            every = _Span(2.0, 2.0, i + 2, ())
        elif (found := self._range(i + 1)) is not None:
            every = found
        unit = TIME_UNITS.get(self.low(every.end))
        return ((1.0, 1.0), every, unit, every.end + 1) if unit else None

    def _frequency_word(self, i: int) -> _Frequency | None:
        """daily, weekly, monthly, bid, tds, qds, ..."""
        if (base := FREQUENCY_WORDS.get(self.low(i))) is None:
            return None
        times, every, unit = base
        return (times, times), _Span(every, every, i + 1, ()), unit, i + 1

    def _times_per(self, i: int) -> _Frequency | None:
        """once a week, twice daily, 3 times a day, 1-2 times/d."""
        written: tuple[tuple[str, float], ...] = ()
        if self.low(i) in TIMES_WORDS:
            times, j = (TIMES_WORDS[self.low(i)], TIMES_WORDS[self.low(i)]), i + 1
        else:
            found = self._range(i)
            if found is None or found.single or self.low(found.end) != "times":
                return None
            times, j, written = (found.low, found.high), found.end + 1, found.written
        j += 1 if self.low(j) in ("a", "per", "each", "/") else 0
        if (base := FREQUENCY_WORDS.get(self.low(j))) is not None:
            return times, _Span(base[1], base[1], j + 1, written), base[2], j + 1
        if (unit := TIME_UNITS.get(self.low(j))) is not None:
            return times, _Span(1.0, 1.0, j + 1, written), unit, j + 1
        return None

    def _per_time(self, i: int) -> _Frequency | None:
        """A rate right after a dose: 8 mg/d, 50 MME/day, 16 mg/24 h, 120 mg per day, 8 mg a day."""
        w = self.low(i)
        if w not in ("/", "per", "a", "each") or not self._after_dose():
            return None
        every = _Span(1.0, 1.0, i + 1, ())
        if w == "/" and (found := self._range(i + 1)) is not None:
            every = found
        unit = TIME_UNITS.get(self.low(every.end))
        return ((1.0, 1.0), every, unit, every.end + 1) if unit else None

    def _periodic(self, i: int) -> _Frequency | None:
        """4-weekly, 6-monthly, a 4-week interval, the 12-week regimen."""
        if self.kind(i) != "num" or (found := self._range(i)) is None or self.low(found.end) != "-":
            return None
        word = self.low(found.end + 1)
        if word in PERIODIC_SUFFIX:
            return (1.0, 1.0), found, PERIODIC_SUFFIX[word], found.end + 2
        if word in TIME_UNITS and self.low(found.end + 2) in SCHEDULE_NOUNS:
            return (1.0, 1.0), found, TIME_UNITS[word], found.end + 2
        return None

    def _after_dose(self) -> bool:
        """The last atom read is a dose, perhaps followed by its route ("2 mg orally per day")."""
        for atom in reversed(self.atoms):
            if atom.kind != "route":
                return _q(atom, "dose") is not None
        return False

    # -- quantities --------------------------------------------------------------------------------------------
    def _quantity(self, i: int) -> int | None:
        """A number or range with its unit and comparison: "8 Gy", ">= 60 mL/min", "3 months or more", "51%"."""
        found = self._range(i)
        if found is None:
            return None
        j = found.end
        unit = self.unit(j + 1 if self.low(j) == "-" and self.glued(j) and self.glued(j + 1) else j)
        if found.single:  # "a single fraction", or "single" before a number ("a single 8 Gy fraction")
            kind = "fractions" if unit and unit[2] == "fractions" else "number"
            j = unit[3] if unit and kind == "fractions" else j
            unit_name = "fractions" if kind == "fractions" else ""
            q = Quantity(kind, 1.0, 1.0, unit_name, text=self.span(i, j), start=self.toks[i].start)
            self.atoms.append(_Atom("quantity", self.toks[i].start, self.toks[j - 1].end, quantity=q, single=True))
            return j
        low, high, written = found.low, found.high, found.written
        if unit is not None:
            j = unit[3]
            second = self.number(j + 1) if low == high and self.low(j) in ("-", "to") else None
            if second is not None and second.low > low:  # "5 mg to 10 mg", "20% to 71%"
                unit2 = self.unit(second.end)
                if unit2 and unit2[0] == unit[0]:
                    high, j, written = second.high, unit2[3], written + second.written
        kind, name, factor = (unit[2], unit[0], unit[1]) if unit else ("number", "", 1.0)
        hedged = self._absorb_hedge()
        op, age, start = self._absorb_comparison(self.toks[i].start)
        start = min(start, hedged) if hedged is not None else start
        if op == "=" and (comparison := self._comparison_after(j)) is not None:
            op, age, j = comparison[0], age or comparison[1], comparison[2]
        if kind == "time":
            if (self.low(j), self.low(j + 1)) in (("of", "age"), ("-", "old")):
                age, j = True, j + 2
            elif self.low(j) == "old":
                age, j = True, j + 1
            kind = "age" if age or any(a.name in AGE_WORDS for a in self.atoms[-3:]) else kind
        if kind == "number" and op == "=" and self.atoms and _word(self.atoms[-1], *INDEX_WORDS):  # "day 3"
            kind, start = "index", self.atoms.pop().start
        end = self.toks[j - 1].end
        numbers = tuple((text, value, factor) for text, value in written)
        q = Quantity(kind, low * factor, high * factor, name, op, self.text[start:end], numbers=numbers, start=start)
        self.atoms.append(_Atom("quantity", start, end, name="hedged" if hedged is not None else "", quantity=q))
        return j

    # -- routes, words and breaks ------------------------------------------------------------------------------
    def _route(self, i: int) -> int | None:
        t = self.toks[i]
        for size in (2, 1):
            words = " ".join(self.low(i + k) for k in range(size))
            if words in ROUTES:
                self._emit("route", i, i + size, name=ROUTES[words])
                return i + size
        previous = self.atoms[-1].name if self.atoms else ""
        if t.text in ROUTE_ABBREVIATIONS and not (t.text == "IV" and previous in ROMAN_CONTEXT):
            self._emit("route", i, i + 1, name=ROUTE_ABBREVIATIONS[t.text])
            return i + 1
        return None

    def _other(self, i: int) -> int:
        for phrase in _CLAUSE_BREAKS_BY_FIRST_WORD.get(self.low(i), ()):
            if tuple(self.low(i + k) for k in range(len(phrase))) != phrase:
                continue
            if phrase == ("than",) and (self.number(i + 1) or self.low(i + 1) in OPERATOR_WORDS | HEDGES):
                continue
            self._emit("clause", i, i + len(phrase))
            return i + len(phrase)
        t = self.toks[i]
        if t.text in CLAUSE_BREAK_SYMBOLS:
            self._emit("clause", i, i + 1, name=t.text)
        elif t.text in ".!?" and self._ends_sentence(i):
            self._emit("break", i, i + 1)
        else:
            self._emit("word" if t.kind == "word" else "sym", i, i + 1, name=t.low)
        return i + 1

    def _ends_sentence(self, i: int) -> bool:
        if i + 1 >= len(self.toks) or "\n" in self.text[self.toks[i].end : self.toks[i + 1].start]:
            return True
        before, nxt = self.low(i - 1), self.toks[i + 1]
        if before in ABBREVIATIONS_WITH_STOP or (len(before) == 1 and self.low(i - 2) == "."):
            return False
        return nxt.spaced and (nxt.text[:1].isupper() or nxt.kind == "num" or nxt.text in "([")

    def _line_ends_sentence(self, i: int) -> bool:
        """A line break ends a sentence unless it wraps one (the next line goes on in lower case)."""
        return self.toks[i - 1].text in ".!?:;" or not self.toks[i].text[:1].islower()


def _glued_quantity(parts: list[_Token]) -> bool:
    """Glued forms that are quantities: 8Gy, 4mg, 1x10Gy, 5x4, 24h, 4-weekly, 12-week, 3-drug, q4w, q3-4, x5."""
    lows = [p.low for p in parts]
    if parts[0].kind != "num":
        return lows[0] in ("q", "x") and parts[1].kind == "num"
    k = 1
    while k < len(parts) and (parts[k].kind == "num" or lows[k] in ("-", "x", ".", "/")):
        k += 1
    if k == len(parts) or (lows[k - 1] == "-" and k == len(parts) - 1):
        return True
    rest = "".join(lows[k:])
    return lows[k] in TIME_UNITS or lows[k] in PERIODIC_SUFFIX or any(rest.startswith(alias) for alias in UNITS)
