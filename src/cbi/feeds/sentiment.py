"""Offline commodity headline sentiment in [-1, 1]: the direction a headline implies for the
price of the commodity it is about, read as a trader reads it.

"Drought cuts soybean crop" is bullish (> 0), "USDA raises corn yield forecast" bearish, "Gold
falls as the dollar gains" bearish for gold. Plain VADER scores "Soybean oil prices plunge"
0.0 and Loughran-McDonald calls drought negative, so this is a rule-based reader of its own
(word lists in `sentiment_lexicon`, words brought to base forms by `sentiment_text`):

1. **Subject**: the commodity the headline is about (the feed's, when given and named;
   else the first commodity named that is not just a modifier, as in "ethanol margins").
2. **What moves**: each move ("rises", "cuts", "strong", "highest") is read against its
   theme, the thing that moves: the subject's price (the move decides), supply (up is
   bearish), demand (up is bullish), a barrier (an export ban up is bullish, an import duty
   up bearish), an event ("drought eases" is bearish), or context (the dollar, stocks,
   another commodity: used only when nothing is said about the subject).
3. **Clauses**: the main clause counts fully, what follows "as"/"after"/"on" half, what
   follows "despite" or "shrugs off" hardly; after "but" the latest move counts more, and a
   move said with an older horizon ("for the week", "opens") less. A level after "from" is
   where a move began; after "near"/"stays" it is a state, not news.
4. **Negation** ("not", "unlikely", "fails to", "can't", "no longer") flips the next move or
   event, or the one just before when none follows ("rally fails to hold").
5. The price's own moves decide; failing those, supply/demand/events; failing those, the
   context. The sum is squashed into (-1, 1) by s / sqrt(s^2 + ALPHA); exactly 0 only when
   nothing in the headline has a direction.

Measured on tests/feeds/sentiment_eval/headlines.csv (figures in bench/RESULTS.md).
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from cbi.feeds.sentiment_reader import read

#: Stored with each score (market_data.news_articles.sentiment_model): a new value makes
#: `cbi features build --full` re-score the stored articles.
MODEL = "cbi-commodity-reader-v2"

ALPHA = 2.0  # squashing constant: one plain move (1.0) scores about 0.58


def score(text: str | None, subject: str | None = None) -> float:
    """The price direction a headline implies, in [-1, 1]; 0.0 only when it has none.

    `subject`: the commodity the feed asked about (e.g. the NewsAPI query, "soybean oil"),
    used when the headline names it."""
    if not text:
        return 0.0
    total = read(text, subject)
    if total == 0.0:
        return 0.0
    value = round(total / math.sqrt(total * total + ALPHA), 4)
    return value if value != 0.0 else math.copysign(0.0001, total)  # a direction is never 0


def score_many(texts: Iterable[str | None], subjects: Sequence[str | None] | str | None = None) -> list[float]:
    """Scores of many headlines; `subjects` is one subject for all, or one per headline."""
    texts = list(texts)
    if subjects is None or isinstance(subjects, str):
        subjects = [subjects] * len(texts)
    return [score(t, s) for t, s in zip(texts, subjects)]


def label(value: float, neutral_band: float = 0.05) -> int:
    """-1, 0 or 1: the direction a score calls (|score| below the band is neutral)."""
    return 0 if abs(value) < neutral_band else (1 if value > 0 else -1)
