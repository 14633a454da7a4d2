"""The words of a question: shorthand, phrasing words and misspellings, read the same way everywhere.

Retrieval expands its keyword query from `query_words`, the composer scores sentences against the
expanded question, and the evidence gate reads the question's terms from the same walk, so all
three see the same words. The data lives in `qa_service/data/`: `abbreviations.tsv` (clinical
shorthand and lay terms with their expansions) and `question_words.txt` (words that phrase a
question rather than name its subject).

`Speller` reads words the index has never seen as the index words they stand for, from the
index's own text only, so it never "corrects" towards another corpus's terms:
- a misspelling, by edit distance (rapidfuzz): "denosumb" -> "denosumab";
- a clipped word, by prefix: "palono" -> "palonosetron", "benzo" -> "benzodiazepine";
- another form of a word: "nauseated" -> "nausea";
- a code the index writes with a hyphen: "NK1" -> "nk-1", "5HT3" -> "5-ht3";
- general clinical shorthand and brand names (`general_terms`, `qa_service/data/abbreviations_general.tsv`,
  then the drug dictionary's generic for a brand: `generic_names`, "blenrep" -> "belantamab mafodotin"),
  only where the index never uses the word and does use the term it stands for: "tylenol" ->
  "acetaminophen", "shld" -> "should", and keys of several words or with punctuation too ("blood
  thinner" -> "anticoagulant", "post-op" -> "postoperative"); "PSMA" stays where the corpus never says
  "prostate-specific membrane antigen", so a question about it still reads as one the corpus does not cover.
Acronyms are not guessed from the initials of the corpus's phrases: in a cancer corpus "SARS" would
read as "small amount (of) radioactive substance" and a question the corpus cannot answer would look
covered.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from functools import lru_cache
from importlib import resources
from itertools import pairwise

from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

from ingest.keywords import STOPWORDS, normalise
from qa_service.lab_values import lab_conditions
from qa_service.quantities import NUMBER_WORDS
from qa_service.quantities.drugs import dictionary_drug_names
from qa_service.term_tables import GENERAL_TERMS, term_table


@lru_cache(maxsize=1)
def abbreviations() -> dict[str, list[str]]:
    """Abbreviation or lay term -> expansions, from the packaged `abbreviations.tsv` (`term_table`)."""
    return {key: list(expansions) for _, key, expansions in term_table("data/abbreviations.tsv")}


@lru_cache(maxsize=1)
def general_terms() -> dict[str, tuple[str, ...]]:
    """General clinical shorthand, brand names and lay terms -> the terms a guideline uses, from the packaged
    `abbreviations_general.tsv` (written from general clinical knowledge, not from any question set).

    Unlike `abbreviations()`, these never expand a query: the speller reads a word as one of its terms only
    where the index lacks the word and has the term (`Speller.general`).
    """
    return {key: expansions for _, key, expansions in term_table(GENERAL_TERMS)}


@lru_cache(maxsize=1)
def drug_classes() -> dict[str, tuple[str, ...]]:
    """Drug -> its classes ("zoledronic acid" -> "bisphosphonate"), from the packaged `drug_classes.tsv`."""
    return {key: expansions for _, key, expansions in term_table("data/drug_classes.tsv")}


def _term_words(term: str) -> list[str]:
    return _ALPHA_WORD_OR_CODE.findall(normalise(term))


_EDGE_PUNCTUATION = ".,;:?!()[]'\""
SPELLED_NUMBERS = {word: str(n) for word, n in NUMBER_WORDS.items() if 2 <= n <= 12}
"""Number words read as digits too: two to twelve ("one" is too often a pronoun: "which one")."""


@lru_cache(maxsize=4096)
def query_words(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The words of a question, each with its expansions from the abbreviation table, and a brand's generic from
    the drug dictionary (`generic_names`: "compazine" -> "prochlorperazine").

    Words are lower-cased and stripped of edge punctuation, a possessive read as its word ("mum's" -> "mum",
    `_without_possessive`); "/" separates words ("f/u"), and "#"
    (clinical shorthand for fraction or fracture: "8 Gy/1#", "single #") is a word of its own. A
    two-word phrase in the table ("side effects", "one shot") is one word with its expansions.
    Retrieval expands its keyword query from this walk and the evidence gate reads the question's
    terms from it, so the two see the same words.
    """
    table = abbreviations()
    raw = normalise(text).replace("/", " ").replace("#", " # ").split()
    # A hyphen left hanging ("ADT- or AI-related") joins the word to one further on: the word is "adt".
    words = [_without_possessive(w) for w in (w.strip(_EDGE_PUNCTUATION).rstrip("-–") for w in raw) if w]
    out: list[tuple[str, tuple[str, ...]]] = []
    # A laboratory value outside its range reads as the condition it names ("calcium came back at 3.0").
    conditions = lab_conditions(words)
    i = 0
    while i < len(words):
        phrase = " ".join(words[i : i + 2])
        if i + 1 < len(words) and phrase in table:
            out.append((phrase, (*table[phrase], *conditions.get(i, ()), *conditions.get(i + 1, ()))))
            i += 2
            continue
        # A word with a laboratory value is that analyte ("Ca 3.1" is no cancer): the table's expansions give way.
        expansions = conditions[i] if i in conditions else tuple(table.get(words[i], ()))
        # A brand's generic of one word ("compazine" -> prochlorperazine); one of several words ("melflufen" ->
        # melphalan flufenamide) would let a passage on another drug (melphalan) cover it.
        generic = [g for g in generic_names(words[i])[-1:] if " " not in g and g not in expansions]
        expansions = (*expansions, *generic)
        if words[i] in SPELLED_NUMBERS:  # "six months" is the guideline's "6 months"
            expansions = (*expansions, SPELLED_NUMBERS[words[i]])
        out.append((words[i], expansions))
        i += 1
    return tuple(out)


_POSSESSIVE = re.compile(r"(?<=[a-z])['’]s$")


def _without_possessive(word: str) -> str:
    """A possessive read as its word ("mum's" -> "mum", "patient's" -> "patient"), a contraction on the phrasing
    list kept whole ("he's", "what's"): "my mum's pelvis" names no word the corpus lacks, "mum's" being no word of
    the encoder's vocabulary while "mum" is."""
    if _POSSESSIVE.search(word) and word not in question_words() and word.replace("’", "'") not in question_words():
        return _POSSESSIVE.sub("", word)
    return word


def expand_query(query: str) -> str:
    """The query followed by the expansions of every abbreviation it contains."""
    extra = [e for _, expansions in query_words(query) for e in expansions]
    return query if not extra else query + " " + " ".join(extra)


@lru_cache(maxsize=1)
def question_words() -> frozenset[str]:
    """Words that phrase a question rather than name its subject (packaged list)."""
    text = resources.files("qa_service").joinpath("data/question_words.txt").read_text(encoding="utf-8")
    return frozenset(w.strip().lower() for w in text.splitlines() if w.strip() and not w.startswith("#"))


_ALPHA_WORD = re.compile(r"[a-z][a-z]+(?:-[a-z]+)*")
_ALPHA_WORD_OR_CODE = re.compile(r"[a-z0-9]+")
# A word a general term may stand for: letters, perhaps with digits ("hba1c"), not inside a hyphenated word.
_GENERAL_WORD = re.compile(r"(?<![\w-])[A-Za-z][A-Za-z0-9]+(?![\w-])")
# A code of letters and digits written with hyphens ("nk-1", "5-ht3", "il-6") and one written without.
_HYPHENATED_CODE = re.compile(r"(?<![\w-])(?=[a-z0-9-]*[a-z])(?=[a-z0-9-]*\d)[a-z0-9]+(?:-[a-z0-9]+)+(?![\w-])")
_CODE_WORD = re.compile(r"(?<![\w-])(?=\w*[A-Za-z])(?=\w*\d)[A-Za-z0-9]{2,}(?![\w-])")
MIN_CORRECTED_LENGTH = 5  # shorter words are shorthand more often than typos ("zol", "dmab", "ebrt")
CORRECTIONS_KEPT = 20_000
_LONG_WORD = re.compile(rf"[A-Za-z]{{{MIN_CORRECTED_LENGTH},}}")
MIN_STEM_PREFIX = 5  # "nausea" reads "nauseated"; shorter words are prefixes of too much
MAX_STEM_SUFFIX = 3
CLIP_MAJORITY = 2 / 3
"""Share of the uses of all the index words a clipped word starts that the chosen one must hold."""


def words_starting_with(sorted_words: Sequence[str], prefix: str) -> Iterator[str]:
    """The words of a sorted list that start with `prefix`, in order (found by bisection)."""
    for i in range(bisect_left(sorted_words, prefix), len(sorted_words)):
        if not sorted_words[i].startswith(prefix):
            return
        yield sorted_words[i]


def _pairs(words: Sequence[str]) -> list[tuple[str, str]]:
    return list(pairwise(words))


# Where a phrase key stands as a whole: not inside a longer word ("blood clotting", "non-post-op", "her2+ve").
_PHRASE_BEFORE = r"(?<![\w-])"
_PHRASE_AFTER = r"(?![\w+-])"


@lru_cache(maxsize=1)
def _phrase_keys() -> tuple[str, ...]:
    """The general terms' keys that are not one plain word ("blood thinner", "post-op", "w/o", "her2+"), longest
    first."""
    return tuple(sorted((k for k in general_terms() if not _GENERAL_WORD.fullmatch(k)), key=len, reverse=True))


@lru_cache(maxsize=1)
def _general_phrases() -> re.Pattern[str] | None:
    """The phrase keys (`_phrase_keys`) as one pattern, longest first, each standing as a whole; None when every
    key is a plain word."""
    keys = _phrase_keys()
    if not keys:
        return None
    return re.compile(_PHRASE_BEFORE + "(?:" + "|".join(map(re.escape, keys)) + ")" + _PHRASE_AFTER, re.IGNORECASE)


def _phrases_in(text: str, words: Collection[str]) -> frozenset[str]:
    """The phrase keys (`_phrase_keys`) that lower-cased `text` holds as a whole ("blood clot", not "blood
    clotting"). Only keys whose words (two letters or more) are all among `words`, the text's own, are looked for,
    with `str.find`: one pattern of every key run over a large index's text took most of the speller's start-up."""
    found = set()
    for key in _phrase_keys():
        if any(word not in words for word in _ALPHA_WORD.findall(key)):
            continue
        whole = re.compile(_PHRASE_BEFORE + re.escape(key) + _PHRASE_AFTER)
        start = text.find(key)
        while start != -1 and not whole.match(text, start):
            start = text.find(key, start + 1)
        if start != -1:
            found.add(key)
    return frozenset(found)


_DEFINITION = re.compile(r"\(([A-Za-z][A-Za-z0-9-]{1,9})\)")
"""An abbreviation defined in parentheses after its long form: "cognitive behavioural therapy (CBT)"."""
_LONG_FORM_WORD = re.compile(r"[A-Za-z0-9][\w'’-]*")
MIN_DEFINED_CAPITALS = 2  # "(CBT)", "(NSAIDs)"; "(Table 2)", "(see above)" and "(sCr)" are not definitions


def long_form(short: str, before: str) -> str | None:
    """The words just before "(short)" that `short` abbreviates, or None (after Schwartz and Hearst, 2003).

    The short form's letters and digits are found right to left in the words before it, its first letter
    starting a word; the long form runs from that word on, at most min(len + 5, 2 * len) words back and two
    words at least: "through cognitive behavioural therapy (CBT)" -> "cognitive behavioural therapy".
    """
    words = _LONG_FORM_WORD.findall(before)[-min(len(short) + 5, 2 * len(short)) :]
    text = " ".join(words).lower()
    letters = [ch for ch in short.lower() if ch.isalnum()]
    at = len(text) - 1
    for i in range(len(letters) - 1, -1, -1):
        while at >= 0 and (text[at] != letters[i] or (i == 0 and at > 0 and text[at - 1].isalnum())):
            at -= 1
        if at < 0:
            return None
        at -= 1
    found = text[text.rfind(" ", 0, at + 1) + 1 :]
    return found if len(found.split()) >= 2 and len(found) > len(short) else None


def defined_abbreviations(texts: Iterable[str]) -> dict[str, str]:
    """Abbreviations the texts define in parentheses, lower case, with their most frequent long form:
    "cognitive behavioural therapy (CBT)" -> {"cbt": "cognitive behavioural therapy"}. A plural short form
    ("NSAIDs") is read as the singular."""
    found: dict[str, Counter[str]] = {}
    for text in texts:
        for match in _DEFINITION.finditer(text):
            short = match.group(1)
            if sum(ch.isupper() for ch in short) < MIN_DEFINED_CAPITALS:
                continue
            longer = long_form(short, text[max(0, match.start() - 160) : match.start()])
            if longer is None:
                continue
            key = short[:-1] if short.endswith("s") and short[:-1].isupper() else short
            found.setdefault(key.lower(), Counter())[longer] += 1
    return {short: forms.most_common(1)[0][0] for short, forms in found.items()}


# The suffix of four letters the FDA adds to a biologic's name ("mafodotin-blmf", "trastuzumab-dkst").
_BIOLOGIC_SUFFIX = re.compile(r"-[a-z]{4}$")


def generic_names(word: str) -> tuple[str, ...]:
    """The generic name the maintained drug dictionary gives a brand or other name of one word
    (`dictionary_drug_names`: "blenrep" -> "belantamab mafodotin-blmf"), then that name without a biologic's
    suffix ("belantamab mafodotin"); empty for a word the dictionary lacks or that is itself the generic."""
    generic = dictionary_drug_names().get(word)
    if generic is None or generic == word:
        return ()
    bare = _BIOLOGIC_SUFFIX.sub("", generic)
    return (generic, bare) if bare != generic else (generic,)


def _other_number(term: str) -> str | None:
    """A term of one plain word in the other grammatical number, by its final "s": "analgesics" -> "analgesic",
    "laxative" -> "laxatives"; None for a term of several words, with digits, or shorter than five letters."""
    if not term.isalpha() or len(term) < 5:
        return None
    return term[:-1] if term.endswith("s") and not term.endswith("ss") else term + "s"


@lru_cache(maxsize=1)
def _dictionary_generics() -> frozenset[str]:
    """Every name `generic_names` may give: the speller keeps the index's adjacent pairs of their words."""
    return frozenset(name for word in dictionary_drug_names() for name in generic_names(word))


class Speller:
    """Reads question words the index never uses as the index words they most likely stand for.

    A word of at least five letters that is neither in the index's vocabulary nor in the abbreviation
    table is replaced by the most frequent index word within one edit (two for words of eight letters
    or more; two neighbouring letters swapped count as one edit: "myleoma" -> "myeloma") that starts with
    the same letter, else by the index word it is the start of when that
    word holds a clear majority of such words' uses ("palono" -> "palonosetron", but "physio" stays:
    physiological or physiotherapy), else by the index word it extends by at most three letters
    ("nauseated" -> "nausea"). A misspelling seldom changes the first letter, and two drugs often
    differ by two edits there ("clonazepam" is never read as "lorazepam", nor "retreatment" as
    "pretreatment").
    Everyday words the corpus happens not to use stay as they are when the caller says so
    (`is_known`), so "worried" is never turned into "worsened".
    """

    def __init__(
        self,
        words: Counter[str],
        hyphenated: dict[str, str] | None = None,
        pairs: frozenset[tuple[str, str]] = frozenset(),
        phrases: frozenset[str] = frozenset(),
    ) -> None:
        self.counts = words
        self.pairs = pairs
        """Adjacent word pairs of the general terms' expansions that the index's text holds."""
        self.hyphenated = hyphenated or {}
        """Letters-and-digits words the index writes with hyphens, by their unhyphenated form: "nk1" -> "nk-1"."""
        self.phrases = phrases
        """The general terms' keys of more than one plain word that the index's text holds ("blood clot")."""
        self._by_length: dict[int, list[str]] = {}
        for word in words:
            self._by_length.setdefault(len(word), []).append(word)
        self._sorted = sorted(words)
        self._memo: dict[str, str | None] = {}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Speller:
        """A speller over every word of the given texts (an index's passages and headings)."""
        counts: Counter[str] = Counter()
        forms: Counter[str] = Counter()
        wanted = {pair for terms in general_terms().values() for term in terms for pair in _pairs(_term_words(term))}
        wanted |= {pair for term in _dictionary_generics() for pair in _pairs(_term_words(term))}
        pairs: set[tuple[str, str]] = set()
        lowered: list[str] = []
        for text in texts:
            lower = normalise(text)
            lowered.append(lower)
            counts.update(_ALPHA_WORD.findall(lower))
            forms.update(_HYPHENATED_CODE.findall(lower))
            pairs.update(p for p in _pairs(_ALPHA_WORD_OR_CODE.findall(lower)) if p in wanted)
        phrases = _phrases_in("\n".join(lowered), counts)
        hyphenated: dict[str, str] = {}
        for form, _ in forms.most_common():  # the index's most frequent spelling of each
            hyphenated.setdefault(form.replace("-", ""), form)
        return cls(counts, {k: v for k, v in hyphenated.items() if k not in forms}, frozenset(pairs), phrases)

    def general(self, word: str) -> str | None:
        """The first of a general term's expansions ("tylenol" -> "acetaminophen", "blood thinner" ->
        "anticoagulant"), else of the drug dictionary's generic names for a brand (`generic_names`: "blenrep" ->
        "belantamab mafodotin"), that the index spells out (every word in its text, every adjacent pair too), else a
        term of one word in the number the index uses ("painkillers" -> "analgesics", read "analgesic"), when the
        index never uses `word` itself (a key of several words or with punctuation: never holds it)."""
        if word in self.counts or word in self.phrases:
            return None
        terms = (*general_terms().get(word, ()), *generic_names(word))
        for term in terms:
            words = _term_words(term)
            if all(w in self.counts or w in STOPWORDS for w in words) and all(p in self.pairs for p in _pairs(words)):
                return term
        for term in terms:  # a term of one word, in the number the index uses: "analgesics" read "analgesic"
            other = _other_number(term)
            if other is not None and other in self.counts:
                return other
        return None

    def clipped(self, word: str) -> str | None:
        """The most frequent index word that `word` is the start of ("palono" -> "palonosetron"), or one
        whose other form it is ("nauseated" -> "nausea")."""
        longer = [w for w in words_starting_with(self._sorted, word) if len(w) >= len(word) + 2 and w.isalpha()]
        if longer:
            best = min(longer, key=lambda w: (-self.counts[w], w))
            total = sum(self.counts[w] for w in longer)
            return best if self.counts[best] >= CLIP_MAJORITY * total else None
        for cut in range(len(word) - 1, max(MIN_STEM_PREFIX, len(word) - MAX_STEM_SUFFIX) - 1, -1):
            if word[:cut] in self.counts:
                return word[:cut]
        return None

    def correction(self, word: str) -> str | None:
        """The index word `word` most likely misspells, or None when it is fine or nothing is close."""
        if len(word) < MIN_CORRECTED_LENGTH or word in self.counts or not word.isalpha():
            return None
        if word in self._memo:
            return self._memo[word]
        limit = 1 if len(word) < 8 else 2
        lengths = range(len(word) - limit, len(word) + limit + 1)
        candidates = [w for n in lengths for w in self._by_length.get(n, ()) if w[0] == word[0]]
        found = extract(word, candidates, scorer=OSA.distance, score_cutoff=limit, limit=None)
        best = min(found, key=lambda f: (f[1], -self.counts[f[0]], f[0]))[0] if found else self.clipped(word)
        if len(self._memo) >= CORRECTIONS_KEPT:  # questions bring new words for as long as the service runs
            self._memo.clear()
        self._memo[word] = best
        return best

    def correct(self, question: str, is_known: Callable[[str], bool] | None = None) -> str:
        """The question with misspelt words replaced by their corrections (unchanged if none)."""
        table = abbreviations()
        phrasing = question_words()

        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            lower = normalise(word)
            if lower in table or lower in phrasing or lower in STOPWORDS:
                return word
            if is_known is not None and is_known(lower):
                return word
            return self.correction(lower) or word

        def join(match: re.Match[str]) -> str:
            return self.hyphenated.get(match.group(0).lower(), match.group(0))

        def general(match: re.Match[str]) -> str:
            word = match.group(0).lower()
            if word in table or word in phrasing:
                return match.group(0)
            return self.general(word) or match.group(0)

        def phrase(match: re.Match[str]) -> str:
            key = normalise(match.group(0))
            if key in table or key in phrasing:
                return match.group(0)
            return self.general(key) or match.group(0)

        phrases = _general_phrases()
        if phrases is not None:  # before single words: "blood thinner", not "blood" then "thinner"
            question = phrases.sub(phrase, question)
        question = _CODE_WORD.sub(join, question) if self.hyphenated else question
        question = _GENERAL_WORD.sub(general, question)
        return _LONG_WORD.sub(fix, question)
