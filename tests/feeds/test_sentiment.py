"""Sentiment: the direction a headline implies for the price, measured on hand-labelled headlines."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cbi.feeds import sentiment
from cbi.feeds.sentiment import label, score, score_many

LABELLED = Path(__file__).with_name("labelled_headlines.csv")


@pytest.mark.parametrize("headline", [
    "Soybean oil prices plunge",
    "Soyoil futures turn bearish as palm oil glut deepens",
    "Bumper Brazil soybean harvest pressures prices",
    "USDA raises soybean yield estimate",
    "Palm oil output surges to record",
    "Soybean oil rally fails to hold",
    "Drought eases in US Midwest after rains",
])
def test_bearish_headlines_score_below_zero(headline):
    assert score(headline) < -0.05


@pytest.mark.parametrize("headline", [
    "Soybean oil futures rally",
    "Drought cuts soybean crop",
    "Soybean oil surges to record high",
    "USDA cuts soybean yield estimate",
    "EPA boosts biofuel blending mandates",
    "Soybean oil is not bearish yet",
    "China cancels US soybean sales but oil demand surges",
])
def test_bullish_headlines_score_above_zero(headline):
    assert score(headline) > 0.05


def test_negation_flips_and_damps():
    assert score("Soybean oil bullish") > 0 > score("Soybean oil not bullish")
    assert abs(score("Soybean oil not bullish")) < abs(score("Soybean oil bullish"))


def test_intensifier_strengthens():
    assert score("Soybean oil prices fall sharply lower") < score("Soybean oil prices fall")
    assert score("Soybean oil slightly higher") < score("Soybean oil higher")


def test_neutral_and_empty():
    assert score("") == 0.0
    assert label(score("Soybean oil market awaits USDA acreage report")) == 0


def test_scores_stay_in_range_and_many_matches_one():
    texts = ["surge " * 50, "plunge crash collapse " * 30, None, "Soybean oil prices rise"]
    scores = score_many(texts)
    assert all(-1.0 <= s <= 1.0 for s in scores)
    assert scores[0] > 0.9 and scores[1] < -0.9 and scores[2] == 0.0
    assert scores[3] == score("Soybean oil prices rise")
    assert sentiment.MODEL.startswith("cbi-")


def test_accuracy_on_hand_labelled_headlines():
    rows = list(csv.DictReader(LABELLED.open()))
    assert len(rows) >= 100
    correct = sum(label(score(r["headline"])) == int(r["label"]) for r in rows)
    assert correct / len(rows) >= 0.9, f"accuracy {correct}/{len(rows)}"


def test_cli_prints_one_line_per_headline_score_last(tmp_path):
    from cbi.cli import app

    f = tmp_path / "h.txt"
    f.write_text("Soybean oil futures rally\n\nSoybean oil prices plunge\n")
    out = CliRunner().invoke(app, ["sentiment", "Drought cuts soybean crop", "--file", str(f)])
    assert out.exit_code == 0, out.output
    lines = out.output.strip().splitlines()
    assert len(lines) == 3
    scores = [float(line.rsplit(None, 1)[-1]) for line in lines]
    assert scores[0] > 0 and scores[1] > 0 and scores[2] < 0
    assert lines[2].startswith("Soybean oil prices plunge")
