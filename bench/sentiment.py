"""Sentiment benchmark (issues 4, 15): `python -m bench.sentiment [--repeats 3] [--misses development]`.

On tests/feeds/sentiment_eval/headlines.csv (rule and split in RULES.md beside it), for each
half (development, held-out), the same run scores:

- CBI's scorer (`cbi.feeds.sentiment.score`);
- plain VADER (`vaderSentiment` 3.3.2, compound score);
- VADER + finvader: VADER with finvader 1.0.4's lexicons merged in exactly as its `finvader(...,
  use_sentibignomics=True, use_henry=True)` does (SentiBignomics scaled by 0.1, then Henry's
  list). finvader's own module calls `nltk.download` on import, so its two lexicon files are
  loaded by path instead (nothing downloads).

Sign accuracy is over positive and negative rows, a score of 0 counting as wrong; neutral rows
are reported apart (|score| < 0.05). Speed: CBI's headlines/s on one core, warm (stem cache
filled, as in a running feed) and cold (each word stemmed for the first time).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import statistics
import time
from pathlib import Path
from typing import Callable

from cbi.feeds import sentiment
from cbi.feeds.sentiment_text import base

EVAL = Path(__file__).resolve().parents[1] / "tests" / "feeds" / "sentiment_eval" / "headlines.csv"
SIGN = {"positive": 1, "negative": -1, "neutral": 0}
NEUTRAL_BAND = 0.05


def load(split: str | None = None) -> list[dict]:
    rows = list(csv.DictReader(EVAL.open(encoding="utf-8")))
    return [r for r in rows if split is None or r["split"] == split]


def vader() -> Callable[[str], float]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return lambda text: analyzer.polarity_scores(text)["compound"]


def _finvader_lexicon(module: str, function: str) -> dict[str, float]:
    """One of finvader's lexicon files, loaded by path: its package __init__ downloads NLTK data."""
    spec = importlib.util.find_spec("finvader")
    path = Path(spec.submodule_search_locations[0]) / f"{module}.py"
    loaded = importlib.util.module_from_spec(importlib.util.spec_from_file_location(module, path))
    loaded.__loader__.exec_module(loaded)
    return getattr(loaded, function)()


def vader_finvader() -> Callable[[str], float]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    senti_bignomics = {k: v * 0.1 for k, v in _finvader_lexicon("SentiBignomics", "lexicon1").items()}
    analyzer = SentimentIntensityAnalyzer()
    analyzer.lexicon.update({**senti_bignomics, **_finvader_lexicon("Henry", "lexicon2")})
    return lambda text: analyzer.polarity_scores(text)["compound"]


def sign(value: float) -> int:
    return (value > 0) - (value < 0)


def figures(scorer: Callable[[str], float], rows: list[dict]) -> dict:
    directional = [r for r in rows if r["label"] != "neutral"]
    neutral = [r for r in rows if r["label"] == "neutral"]
    hits = [r for r in directional if sign(scorer(r["headline"])) == SIGN[r["label"]]]
    calm = [r for r in neutral if abs(scorer(r["headline"])) < NEUTRAL_BAND]
    return {"hits": len(hits), "n": len(directional), "neutral_hits": len(calm),
            "neutral_n": len(neutral)}


def misses(scorer: Callable[[str], float], rows: list[dict]) -> list[str]:
    return [f"{r['label']:>8} {scorer(r['headline']):+.3f} [{r['pattern']}] {r['headline']}"
            for r in rows if r["label"] != "neutral"
            and sign(scorer(r["headline"])) != SIGN[r["label"]]]


def rate(headlines: list[str]) -> tuple[float, float]:
    """Headlines/s by the process's CPU time (one core, whatever else the machine runs) and
    by the wall clock."""
    t, w = time.process_time(), time.perf_counter()
    sentiment.score_many(headlines)
    return len(headlines) / (time.process_time() - t), len(headlines) / (time.perf_counter() - w)


def _cell(f: dict) -> str:
    return f"{f['hits'] / f['n']:.1%} ({f['hits']}/{f['n']})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--misses", choices=["development", "heldout"],
                        help="also print CBI's misses on this half (tune on development only)")
    parser.add_argument("--development-only", action="store_true",
                        help="report the development half only (while tuning)")
    args = parser.parse_args()
    halves = ["development"] if args.development_only else ["development", "heldout"]
    scorers = {"CBI (" + sentiment.MODEL + ")": sentiment.score, "VADER": vader(),
               "VADER + finvader": vader_finvader()}
    print("| scorer | development sign accuracy | held-out sign accuracy | neutral called neutral (all) |")
    print("|---|---|---|---|")
    for name, scorer in scorers.items():
        got = [figures(scorer, load(half)) for half in halves]
        neutral = sum(f["neutral_hits"] for f in got), sum(f["neutral_n"] for f in got)
        cells = " | ".join(_cell(f) for f in got) + (" | (not shown)" if len(got) == 1 else "")
        print(f"| {name} | {cells} | {neutral[0]}/{neutral[1]} |")
    unique = [r["headline"] for r in load()]
    base.cache_clear()  # cold: every word stemmed for the first time
    cold = rate(unique)
    headlines = unique * 100  # warm: a running feed's vocabulary is already stemmed
    rates = [rate(headlines) for _ in range(args.repeats)]
    cpu, wall = statistics.median(r[0] for r in rates), statistics.median(r[1] for r in rates)
    print(f"\nCBI speed, one core: median {cpu:,.0f} headlines/s of CPU time ({wall:,.0f}/s wall "
          f"clock) warm ({len(headlines):,} headlines a run, {args.repeats} runs); {cold[0]:,.0f}/s "
          f"CPU ({cold[1]:,.0f}/s wall) cold (the {len(unique)} headlines once, empty stem "
          f"cache); target 5,000/s")
    if args.misses:
        print(f"\nCBI misses on {args.misses}:")
        print("\n".join(misses(sentiment.score, load(args.misses))))


if __name__ == "__main__":
    main()
