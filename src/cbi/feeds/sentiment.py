"""Offline, commodity-direction-aware headline sentiment in [-1, 1].

The score is the direction a headline implies for the commodity's price, not its mood:
"drought cuts soybean crop" is bullish (> 0), "record harvest" bearish, "prices plunge" < 0.
Plain VADER scores "Soybean oil prices plunge" 0.0, and Loughran-McDonald calls drought
negative, so this is a small rule-based scorer of its own (word lists in `sentiment_lexicon`):

1. phrases first ("record crop", "strong demand"), then single words;
2. a movement word ("rises", "cuts") takes its sign from the nearest thing that moves: supply
   up means price down ("output surges" < 0), demand up means price up;
3. intensifiers scale the next direction word, negations within three tokens flip it
   (damped, as VADER does), and what follows "but" weighs more than what precedes it;
4. the sum is squashed into (-1, 1) with s / sqrt(s^2 + ALPHA).

Measured on tests/feeds/labelled_headlines.csv (figures in bench/RESULTS.md).
"""

from __future__ import annotations

import math
import re
from typing import Iterable

from cbi.feeds import sentiment_lexicon as lex

#: Stored with each score (market_data.news_articles.sentiment_model) so rescoring is traceable.
MODEL = "cbi-commodity-lexicon-v1"

ALPHA = 15.0  # squashing constant: one strong word (3.0) scores about 0.6
NEGATION_WINDOW = 3
NOUN_WINDOW = 3
NEGATION_FACTOR = -0.74  # VADER's damping: "not bullish" is less bearish than "bearish"
BEFORE_CONTRAST, AFTER_CONTRAST = 0.5, 1.5
BACKGROUND = 0.5  # weight of what follows "after"/"following"

_TOKEN = re.compile(r"[a-z0-9][a-z0-9'\-]*")
_MAX_PHRASE = max(len(p) for p in lex.PHRASES)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("\u2019", "'"))


def _noun_sign(words: list[str], i: int) -> float:
    """Sign for the movement word at i from the nearest supply/demand/price noun (0 if none)."""
    for distance in range(1, NOUN_WINDOW + 1):
        for j in (i - distance, i + distance):  # the subject before, then the object after
            if 0 <= j < len(words):
                w = words[j]
                if w in lex.SUPPLY_NOUNS:
                    return -1.0
                if w in lex.DEMAND_NOUNS or w in lex.PRICE_NOUNS:
                    return 1.0
    return 0.0


def _word_value(words: list[str], i: int) -> tuple[float, str]:
    """(valence, kind): kind is "event" (supply story), "free" (a movement with no noun of
    its own, which may act on an event: "drought eases") or "word"."""
    w = words[i]
    if w in lex.PRICE_WORDS:
        value = lex.PRICE_WORDS[w]
        if w not in lex.MOVEMENT_WORDS:
            return value, "word"
        sign = _noun_sign(words, i)
        return (value, "free") if sign == 0.0 else (value * sign, "word")
    value = lex.SUPPLY_EVENTS.get(w, 0.0)
    return value, "event"


def _phrase_at(words: list[str], i: int) -> tuple[float, int] | None:
    for size in range(_MAX_PHRASE, 1, -1):
        value = lex.PHRASES.get(tuple(words[i:i + size]))
        if value is not None:
            return value, size
    return None


def _value_at(words: list[str], i: int) -> tuple[float, str, int]:
    phrase = _phrase_at(words, i)
    if phrase:
        return phrase[0], "word", phrase[1]
    return (*_word_value(words, i), 1)


class _Valences:
    """The directional items of one headline, with the modifiers seen so far."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.kinds: list[str] = []
        self.positions: list[int] = []
        self.scale, self.negate_until, self.contrast_at, self.background_at = 1.0, -1, -1, -1

    def add(self, value: float, kind: str, pos: int) -> None:
        if kind == "free" and value < 0 and self._event_near(pos):
            self._undo_last(NEGATION_FACTOR)  # "drought eases": the event recedes
            return
        value *= self.scale
        if pos <= self.negate_until:
            value *= NEGATION_FACTOR
            self.negate_until = -1
        self.values.append(value)
        self.kinds.append(kind)
        self.positions.append(pos)
        self.scale = 1.0

    def _event_near(self, pos: int) -> bool:
        return bool(self.kinds) and self.kinds[-1] == "event" and pos - self.positions[-1] <= 2

    def _undo_last(self, factor: float) -> None:
        if self.values:
            self.values[-1] *= factor

    def modifier(self, w: str, pos: int) -> None:
        if w in lex.INTENSIFIERS:
            self.scale = lex.INTENSIFIERS[w]
        elif w in lex.REVERSALS and self.values and pos - self.positions[-1] <= 3:
            self._undo_last(NEGATION_FACTOR)  # "rally fails to hold" (before "fails to rally")
        elif w in lex.NEGATIONS or w.endswith("n't"):
            self.negate_until = pos + NEGATION_WINDOW
        elif w in lex.EVENT_GROWTH and self._event_near(pos):
            self._undo_last(1.3)
        elif w in lex.CONTRASTS and self.values:
            self.contrast_at = len(self.values)
        elif w in lex.BACKGROUND and self.background_at < 0:
            self.background_at = len(self.values)

    def weighted(self) -> list[float]:
        out = list(self.values)
        if self.background_at >= 0:
            out = [v * (BACKGROUND if k >= self.background_at else 1.0) for k, v in enumerate(out)]
        if self.contrast_at >= 0:
            out = [v * (BEFORE_CONTRAST if k < self.contrast_at else AFTER_CONTRAST)
                   for k, v in enumerate(out)]
        return out


def _valences(words: list[str]) -> list[float]:
    """One valence per directional word or phrase, after intensity, negation and contrast."""
    items = _Valences()
    i = 0
    while i < len(words):
        w = words[i]
        if w in lex.INTENSIFIERS and i + 1 < len(words) and _value_at(words, i + 1)[0]:
            items.modifier(w, i)  # "record" intensifies "record high", else moves itself
            i += 1
            continue
        value, kind, size = _value_at(words, i)
        if value:
            items.add(value, kind, i)
        else:
            items.modifier(w, i)
        i += size
    return items.weighted()


def score(text: str) -> float:
    """The price direction a headline implies, in [-1, 1] (0.0 for empty or neutral text)."""
    if not text:
        return 0.0
    total = sum(_valences(tokens(text)))
    return round(total / math.sqrt(total * total + ALPHA), 4)


def score_many(texts: Iterable[str | None]) -> list[float]:
    return [score(t or "") for t in texts]


def label(value: float, neutral_band: float = 0.05) -> int:
    """-1, 0 or 1: the direction a score calls (|score| below the band is neutral)."""
    return 0 if abs(value) < neutral_band else (1 if value > 0 else -1)
