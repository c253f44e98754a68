"""Headline text -> units: lower-cased words brought to a base form, names and idioms joined.

Inflections go through the Snowball English stemmer (`snowballstemmer`, the Snowball
project's own Python port), so "boosting", "boosted" and "boosts" all read as "boost";
irregular forms ("rose", "fell") come from `sentiment_lexicon.SURFACE`. Stems are cached:
headlines reuse a small vocabulary, and the stemmer is the slow step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

from cbi.feeds import sentiment_lexicon as lex

_STEMMER = snowballstemmer.stemmer("english")
# A newswire desk tag ("GRAINS-", "VEGOILS-", "PRECIOUS-") is not part of the headline.
_DESK = re.compile(r"^\s*[A-Z]{2,}-(?=[A-Z])")
_DASH = re.compile(r"\s[-\u2013\u2014]+\s")  # a spaced dash separates clauses, a hyphen joins words
_TOKEN = re.compile(r"u\.s\.|opec\+|\$?\d[\d,.]*\d%?|\$?\d%?|[a-z]+(?:'[a-z]+)?|[,;:]|[.!?](?=\s|$)")
_NEGATED = re.compile(r"n't$")


@dataclass(frozen=True, slots=True)
class Unit:
    """One word or joined phrase: `key` is its base form (a lexicon key), `word` as written."""

    key: str
    word: str


@lru_cache(maxsize=65536)
def base(word: str) -> str:
    """The lexicon form of one lower-case word: irregular forms first, else its Snowball stem."""
    if word in lex.SURFACE:
        return lex.SURFACE[word]
    if word.endswith("'s"):
        word = word[:-2]
    if _NEGATED.search(word) or word in ("cannot", "can't", "won't"):
        return "not"
    return _STEMMER.stemWord(word)


def _phrase_table() -> dict[tuple[str, ...], str]:
    return {tuple(base(w) for w in phrase.split()): key for phrase, key in lex.PHRASES.items()}


_PHRASES = _phrase_table()
_LONGEST = max(len(p) for p in _PHRASES)


def units(text: str) -> list[Unit]:
    """The headline as units, phrases joined ("soybean oil" -> soyoil, "net long" -> longs)."""
    text = _DASH.sub(" , ", _DESK.sub("", text)).replace("\u2019", "'").replace("-", " ")
    words = _TOKEN.findall(text.lower())
    keys = [base(w) for w in words]
    out: list[Unit] = []
    i = 0
    while i < len(keys):
        for size in range(min(_LONGEST, len(keys) - i), 1, -1):
            key = _PHRASES.get(tuple(keys[i:i + size]))
            if key is not None:
                out.append(Unit(key, " ".join(words[i:i + size])))
                i += size
                break
        else:
            out.append(Unit(keys[i], words[i]))
            i += 1
    return out
