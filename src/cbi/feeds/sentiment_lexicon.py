"""Word lists of the commodity sentiment scorer: signs are the direction a word implies for the
commodity's *price* (soybean oil first), not the mood of the sentence.

Kept apart from the rules in `sentiment.py` so the lists can grow without touching the logic.
Loughran-McDonald gets commodity direction wrong ("drought" is negative in filings, bullish for
soybean oil), so these lists are hand-written for futures headlines.
"""

from __future__ import annotations

#: Words that say where the price went or is going, on their own ("futures rally").
PRICE_WORDS: dict[str, float] = {
    # up
    "rally": 2.5, "rallies": 2.5, "rallied": 2.5, "rallying": 2.5,
    "bullish": 2.5, "bull": 1.5, "bulls": 1.5,
    "soar": 3.0, "soars": 3.0, "soared": 3.0, "soaring": 3.0,
    "skyrocket": 3.2, "skyrockets": 3.2, "skyrocketed": 3.2,
    "rebound": 1.8, "rebounds": 1.8, "rebounded": 1.8,
    "recover": 1.3, "recovers": 1.3, "recovered": 1.3, "recovery": 1.2,
    "strengthen": 1.5, "strengthens": 1.5, "strengthened": 1.5, "firm": 1.2, "firms": 1.2,
    "firmer": 1.3, "higher": 1.5, "highs": 1.8, "outperform": 1.5, "upside": 1.5,
    "breakout": 1.8, "spike": 2.2, "spikes": 2.2, "spiked": 2.2, "boom": 2.0, "booming": 2.0,
    "upbeat": 1.5, "optimism": 1.3, "optimistic": 1.3, "rosy": 1.2, "buying": 1.0,
    "rises": 1.8, "rise": 1.8, "rose": 1.8, "rising": 1.6, "gain": 1.8, "gains": 1.8,
    "gained": 1.8, "jump": 2.3, "jumps": 2.3, "jumped": 2.3, "climb": 1.8, "climbs": 1.8,
    "climbed": 1.8, "advance": 1.5, "advances": 1.5, "advanced": 1.5, "surge": 2.8,
    "surges": 2.8, "surged": 2.8, "surging": 2.8, "up": 1.0, "increase": 1.3,
    "increases": 1.3, "increased": 1.3, "boost": 1.6, "boosts": 1.6, "boosted": 1.6,
    "lift": 1.5, "lifts": 1.5, "lifted": 1.5, "raise": 1.3, "raises": 1.3, "raised": 1.3,
    "expand": 1.2, "expands": 1.2, "grow": 1.2, "grows": 1.2, "growth": 1.0,
    # down
    "plunge": -3.0, "plunges": -3.0, "plunged": -3.0, "plunging": -3.0,
    "bearish": -2.5, "bear": -1.5, "bears": -1.5,
    "slump": -2.5, "slumps": -2.5, "slumped": -2.5, "tumble": -2.5, "tumbles": -2.5,
    "tumbled": -2.5, "crash": -3.2, "crashes": -3.2, "crashed": -3.2, "collapse": -3.0,
    "collapses": -3.0, "collapsed": -3.0, "sink": -2.2, "sinks": -2.2, "sank": -2.2,
    "sell-off": -2.3, "selloff": -2.3, "slide": -2.0, "slides": -2.0, "slid": -2.0,
    "weaken": -1.5, "weakens": -1.5, "weakened": -1.5, "weak": -1.5, "weaker": -1.5,
    "lower": -1.5, "lows": -1.8, "downside": -1.5, "pressure": -1.2, "pressured": -1.5,
    "retreat": -1.5, "retreats": -1.5, "retreated": -1.5, "losses": -1.8, "loss": -1.5,
    "pessimism": -1.3, "gloomy": -1.5, "selling": -1.0, "liquidation": -1.8,
    "falls": -1.8, "fall": -1.8, "fell": -1.8, "falling": -1.6, "drop": -2.0, "drops": -2.0,
    "dropped": -2.0, "decline": -1.8, "declines": -1.8, "declined": -1.8, "slip": -1.3,
    "slips": -1.3, "slipped": -1.3, "dip": -1.2, "dips": -1.2, "dipped": -1.2, "down": -1.0,
    "cut": -1.5, "cuts": -1.5, "slash": -2.0, "slashes": -2.0, "slashed": -2.0,
    "reduce": -1.3, "reduces": -1.3, "reduced": -1.3, "shrink": -1.5, "shrinks": -1.5,
    "shrank": -1.5, "ease": -1.0, "eases": -1.0, "eased": -1.0, "sag": -1.5, "sags": -1.5,
    "shed": -1.5, "sheds": -1.5, "lose": -1.5, "loses": -1.5, "lost": -1.5,
    "curb": -1.3, "curbs": -1.3, "halt": -1.5, "halts": -1.5, "halted": -1.5,
    "cancel": -1.5, "cancels": -1.5, "cancelled": -1.5, "canceled": -1.5,
    "build": 1.2, "builds": 1.2, "record": 1.5,
    "weighs": -1.5, "weigh": -1.5, "weighed": -1.5, "lowers": -1.5, "lowered": -1.5, "trim": -1.2, "trims": -1.2, "trimmed": -1.2,
}

#: Movement words whose sign follows the thing that moves: "output rises" is bearish for price,
#: "demand rises" bullish. Each is in PRICE_WORDS too (its sign when nothing else is said).
MOVEMENT_WORDS: frozenset[str] = frozenset(
    w for w in PRICE_WORDS
    if w.split("-")[0] in {
        "rise", "rises", "rose", "rising", "gain", "gains", "gained", "jump", "jumps", "jumped",
        "climb", "climbs", "climbed", "surge", "surges", "surged", "surging", "soar", "soars",
        "soared", "soaring", "up", "increase", "increases", "increased", "boost", "boosts",
        "boosted", "lift", "lifts", "lifted", "raise", "raises", "raised", "expand", "expands",
        "grow", "grows", "growth", "higher", "spike", "spikes", "spiked", "jump", "advance",
        "advances", "advanced", "strengthen", "strengthens", "strengthened", "recover",
        "recovers", "recovered", "rebound", "rebounds", "rebounded",
        "falls", "fall", "fell", "falling", "drop", "drops", "dropped", "decline", "declines",
        "declined", "slip", "slips", "slipped", "dip", "dips", "dipped", "down", "cut", "cuts",
        "slash", "slashes", "slashed", "reduce", "reduces", "reduced", "shrink", "shrinks",
        "shrank", "lower", "lowers", "lowered", "trim", "trims", "trimmed", "plunge",
        "plunges", "plunged", "plunging", "slump", "slumps", "slumped", "tumble", "tumbles",
        "tumbled", "sink", "sinks", "sank", "collapse", "collapses", "collapsed", "weaken",
        "weakens", "weakened", "ease", "eases", "eased", "curb", "curbs", "halt", "halts",
        "halted", "shed", "sheds", "lose", "loses", "lost", "crash", "crashes", "crashed",
        "slide", "slides", "slid", "sag", "sags", "losses", "loss", "cancel", "cancels",
        "cancelled", "canceled", "build", "builds", "record",
    }
)

#: Nouns of supply: when supply moves up the price moves down.
SUPPLY_NOUNS: frozenset[str] = frozenset({
    "supply", "supplies", "output", "production", "produce", "harvest", "harvests", "crop",
    "crops", "yield", "yields", "stocks", "stockpiles", "inventories", "inventory", "acreage",
    "acres", "plantings", "planting", "shipments",
    "arrivals", "availability", "capacity", "estimate", "estimates", "forecast",
    "carryover", "reserves", "stockpile", "production", "crops",
})

#: Nouns of demand: when demand moves up the price moves up.
DEMAND_NOUNS: frozenset[str] = frozenset({
    "demand", "consumption", "purchases", "buying", "orders", "mandate", "mandates",
    "blending", "usage", "use", "sales", "exports", "biofuel", "biodiesel", "diesel",
    "appetite", "interest", "offtake", "quotas", "quota", "requirement", "requirements",
    "rvo", "rvos", "volumes", "imports",
})

#: Nouns of the price itself ("prices fall", "futures climb"): the movement word keeps its sign.
PRICE_NOUNS: frozenset[str] = frozenset({
    "price", "prices", "futures", "contract", "contracts", "market", "markets", "values",
    "premiums", "premium", "oil", "soyoil", "zl", "value", "costs", "cost", "rates",
})

#: Words that carry direction through the supply story: drought is bullish for soybean oil.
SUPPLY_EVENTS: dict[str, float] = {
    "drought": 2.2, "droughts": 2.2, "dryness": 1.8, "dry": 1.2, "heatwave": 1.8, "heat": 1.0,
    "frost": 1.8, "freeze": 1.6, "flooding": 1.5, "floods": 1.5, "flood": 1.5,
    "shortage": 2.3, "shortages": 2.3, "scarce": 1.8, "scarcity": 1.8, "tight": 1.8,
    "tighter": 1.8, "tightening": 1.6, "deficit": 1.8, "disruption": 1.6, "disruptions": 1.6,
    "disrupt": 1.5, "disrupted": 1.5, "blight": 1.5, "pest": 1.2, "pests": 1.2,
    "ban": 1.5, "embargo": 1.3, "strike": 1.2, "strikes": 1.2, "outage": 1.3,
    "damage": 1.6, "damaged": 1.6, "wilting": 1.5, "la": 0.0, "nina": 1.0,
    "glut": -2.5, "oversupply": -2.5, "oversupplied": -2.5, "surplus": -2.0, "surpluses": -2.0,
    "bumper": -2.3, "abundant": -1.8, "plentiful": -1.8, "ample": -1.5,
    "favorable": -1.0, "favourable": -1.0, "beneficial": -1.0, "rains": -1.0, "rain": -0.8,
    "recession": -1.8, "slowdown": -1.5, "sanctions": 0.5, "tariff": -1.2, "tariffs": -1.2,
    "trade-war": -1.5, "war": 0.8, "lockdown": -1.5, "lockdowns": -1.5,
    "delay": 1.2, "delays": 1.2, "delayed": 1.2,
}

#: Two- and three-word phrases, matched before single words (their words are then consumed).
PHRASES: dict[tuple[str, ...], float] = {
    ("record", "crop"): -2.3, ("record", "harvest"): -2.3, ("record", "high"): 2.8,
    ("record", "highs"): 2.8, ("record", "low"): -2.8, ("record", "lows"): -2.8,
    ("all-time", "high"): 2.8, ("all-time", "low"): -2.8, ("multi-year", "high"): 2.5,
    ("multi-year", "low"): -2.5, ("month", "high"): 1.8, ("month", "low"): -1.8,
    ("week", "high"): 1.5, ("week", "low"): -1.5, ("year", "high"): 2.0, ("year", "low"): -2.0,
    ("profit", "taking"): -1.5, ("short", "covering"): 1.5, ("risk", "off"): -1.5,
    ("risk", "on"): 1.2, ("export", "ban"): 1.8, ("crop", "damage"): 2.0,
    ("crop", "failure"): 2.5, ("crop", "losses"): 2.0, ("yield", "losses"): 2.0,
    ("planting", "delays"): 1.5, ("strong", "demand"): 2.2, ("weak", "demand"): -2.2,
    ("demand", "concerns"): -1.8, ("demand", "worries"): -1.8, ("supply", "concerns"): 1.8,
    ("supply", "worries"): 1.8, ("supply", "fears"): 1.8, ("supply", "chain"): 0.0,
    ("renewable", "diesel"): 0.8, ("biofuel", "mandate"): 0.0, ("ample", "supplies"): -2.0,
    ("ample", "supply"): -2.0, ("heavy", "rains"): 0.8, ("good", "weather"): -1.5,
    ("favorable", "weather"): -1.8, ("ideal", "weather"): -1.8, ("beneficial", "rains"): -1.8,
    ("higher", "prices"): 1.5, ("lower", "prices"): -1.5, ("rate", "hike"): -0.8,
    ("rate", "hikes"): -0.8, ("rate", "cut"): 0.8, ("rate", "cuts"): 0.8,
    ("stronger", "dollar"): -1.2, ("weaker", "dollar"): 1.2, ("dollar", "strengthens"): -1.2,
    ("dollar", "weakens"): 1.2, ("dollar", "rallies"): -1.2, ("dollar", "falls"): 1.2,
    ("sharp", "gains"): 2.5, ("sharp", "losses"): -2.5, ("under", "pressure"): -1.8,
    ("on", "the", "rise"): 1.5, ("level", "off"): -0.3, ("steady", "prices"): 0.0,
    ("flat", "prices"): 0.0, ("mixed", "trade"): 0.0,
}

#: Scale the next directional word.
INTENSIFIERS: dict[str, float] = {
    "sharply": 1.4, "sharp": 1.3, "steeply": 1.4, "steep": 1.3, "massive": 1.4, "huge": 1.3,
    "biggest": 1.4, "record": 1.4, "severe": 1.4, "extreme": 1.4, "dramatically": 1.4,
    "strongly": 1.3, "strong": 1.2, "heavy": 1.2, "significantly": 1.3, "most": 1.2,
    "very": 1.2, "deep": 1.3, "deepens": 1.2, "widespread": 1.3, "worst": 1.4,
    "slightly": 0.6, "modestly": 0.6, "marginally": 0.5, "slight": 0.6, "modest": 0.6,
    "mild": 0.6, "little": 0.5, "somewhat": 0.6, "partly": 0.6, "minor": 0.6,
}

#: Words that flip the next directional word within NEGATION_WINDOW tokens.
NEGATIONS: frozenset[str] = frozenset({
    "not", "no", "never", "without", "nor", "neither", "isn't", "aren't", "wasn't", "weren't",
    "don't", "doesn't", "didn't", "won't", "can't", "cannot", "couldn't", "shouldn't", "fails",
    "failed", "fail", "unlikely", "lack", "lacks", "lacking", "despite", "averts", "avert",
    "averted", "eases-fears",
})

#: Contrast: what follows "but"/"however" weighs more than what came before.
CONTRASTS: frozenset[str] = frozenset({"but", "however", "yet", "although", "though"})

#: Words that undo the direction just before them: "rally fails", "gains fade".
REVERSALS: frozenset[str] = frozenset({
    "fade", "fades", "faded", "fails", "stall", "stalls", "stalled", "falters", "evaporate",
    "evaporates", "reverses", "pares", "erased", "erases",
})

#: What follows these is background ("rebounds after sell-off"): it weighs half.
BACKGROUND: frozenset[str] = frozenset({"after", "following"})

#: An event word followed by one of these grows ("drought worsens").
EVENT_GROWTH: frozenset[str] = frozenset({
    "worsens", "worsen", "worsened", "spreads", "spread", "intensifies", "deepens", "persists",
    "widens", "expands",
})
