"""The reading behind `sentiment.score`: a headline's moves, what each moves, and how much each
counts. See `cbi.feeds.sentiment` for the rules in words; word lists in `sentiment_lexicon`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cbi.feeds import sentiment_lexicon as lex
from cbi.feeds.sentiment_text import Unit, base, units


def _table(entries):
    """A lexicon list keyed by base form (and by its own spelling, for joined phrase keys)."""
    if isinstance(entries, dict):
        return {**{base(k): v for k, v in entries.items()}, **entries}
    return {base(k) for k in entries} | set(entries)


UP, DOWN, STRONG = _table(lex.UP), _table(lex.DOWN), _table(lex.STRONG)
MOVES = {**UP, **DOWN}
TRANSITIVE, DUAL = _table(lex.TRANSITIVE), _table(lex.DUAL)
ATTRIBUTIVE = _table(lex.ATTRIBUTIVE)
REVERSE, MOVE_NOUNS, CONTINUE = _table(lex.REVERSE), _table(lex.MOVE_NOUNS), _table(lex.CONTINUE)
UNDO_AFTER, BUY, SELL = _table(lex.UNDO_AFTER), _table(lex.BUY), _table(lex.SELL)
LEVELS, INTENSIFIERS = _table(lex.LEVELS), _table(lex.INTENSIFIERS)
THEMES, PRICE_THEMES, CONTEXT_THEMES = _table(lex.THEMES), _table(lex.PRICE_THEMES), _table(lex.CONTEXT_THEMES)
RATE_THEMES = _table(lex.RATE_THEMES)
BARRIERS, REMOVE_BARRIER = _table(lex.BARRIERS), _table(lex.REMOVE_BARRIER)
QUIET_BARRIERS = _table(lex.QUIET_BARRIERS)
EVENTS, EVENT_GROW = _table(lex.EVENTS), _table(lex.EVENT_GROW)
NEGATIONS, DENIALS = _table(lex.NEGATIONS), lex.DENIALS
SUBORDINATE, DISCOUNT, CONTRAST = _table(lex.SUBORDINATE), _table(lex.DISCOUNT), _table(lex.CONTRAST)
OLDER, TIME_WORDS, STATE = _table(lex.OLDER), _table(lex.TIME_WORDS), _table(lex.STATE)
ORIGIN, HOME_ORIGINS, STOPS = _table(lex.ORIGIN), _table(lex.HOME_ORIGINS), _table(lex.GROUP_STOPS)
COMMODITIES, CRUSH_PRODUCTS = _table(lex.COMMODITIES), lex.CRUSH_PRODUCTS
RATE_SENSITIVE = lex.RATE_SENSITIVE
PUNCTUATION = {",", ";", ":", ".", "!", "?"}  # a sentence end also ends a clause
COMPARED, NEVER_FREE = _table(lex.COMPARED), _table(lex.NEVER_FREE)
LEAD_INS = {base(k): frozenset(v.split()) for k, v in lex.LEAD_INS.items()}
DETERMINERS, CROP_VERBS = frozenset(lex.DETERMINERS), _table(lex.CROP_VERBS)

SUBORDINATE_WEIGHT, DISCOUNT_WEIGHT, CONTRAST_WEIGHT = 0.5, 0.1, 1.5
OLDER_WEIGHT, STATE_WEIGHT, LEVEL_WEIGHT, FREE_WEIGHT = 0.35, 0.25, 0.8, 0.6
NEGATION_FACTOR = -0.8  # "not bullish" is a little less bearish than "bearish"
NEGATION_WINDOW, SCAN = 4, 4
SUPPORT = 0.3  # how much the other kinds add to the kind that decides


@dataclass(slots=True)
class Item:
    value: float
    kind: str  # "price" (the subject's own price), "fund" (supply, demand, events), "context"
    pos: int
    clause: int


@dataclass
class Reading:
    """One headline being read: its units, clauses, subject and the items found so far."""

    units: list[Unit]
    hint: str | None  # the feed's query, if any
    subject: str | None = field(init=False)
    keys: list[str] = field(init=False)
    clause: list[int] = field(init=False)
    weight: list[float] = field(init=False)
    items: list[Item] = field(default_factory=list)
    used: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.keys = [u.key for u in self.units]
        self.clause, self.weight = _clauses(self.keys)
        self.subject = find_subject(self.keys, self.hint)

    def add(self, value: float, kind: str, pos: int) -> None:
        if value:
            self.items.append(Item(value * self.weight[pos], kind, pos, self.clause[pos]))


# ---- clauses ------------------------------------------------------------------------------
def _is_boundary(keys: list[str], i: int) -> bool:
    k = keys[i]
    if k in PUNCTUATION or k in CONTRAST or k in DISCOUNT:
        return True
    if k == "to":  # "raises duty to curb exports": a purpose; "falls to a low", "mine to restart": not
        return (i + 1 < len(keys) and keys[i + 1] in MOVES
                and any(w in MOVES or w in BARRIERS for w in keys[:i]))
    if k not in SUBORDINATE:
        return False
    if k == "on":  # "higher on the day", "weighs on corn": not a cause
        after = keys[i + 1] if i + 1 < len(keys) else ""
        before = keys[i - 1] if i else ""  # "weighs on corn", "a ban on exports": the object
        return after not in TIME_WORDS and "on" not in LEAD_INS.get(before, ()) and before not in BARRIERS
    if k == "as":  # "not as large as feared"
        return "as" not in keys[max(0, i - 2):i] and "as" not in keys[i + 1:i + 3]
    return True


def _clauses(keys: list[str]) -> tuple[list[int], list[float]]:
    """Clause number and weight of every unit: main 1, subordinate less, after "but" more."""
    clause, weight, number, w, contrast = [], [], 0, 1.0, False
    for i, k in enumerate(keys):
        if k in ("and", "to") and w == DISCOUNT_WEIGHT:  # "shrugs off the cuts to end higher"
            number, w = number + 1, 1.0
        elif _is_boundary(keys, i):
            number += 1
            if k in PUNCTUATION:
                w = CONTRAST_WEIGHT if contrast else 1.0
            elif k in CONTRAST:
                contrast, w = True, CONTRAST_WEIGHT
            elif k in DISCOUNT:
                w = DISCOUNT_WEIGHT
            else:
                w = min(w, SUBORDINATE_WEIGHT * (CONTRAST_WEIGHT if contrast else 1.0))
        clause.append(number)
        weight.append(w)
    return clause, _older(keys, weight)


def _older(keys: list[str], weight: list[float]) -> list[float]:
    """Between "but"-separated parts, the part said with an older horizon weighs less."""
    cuts = [i for i, k in enumerate(keys) if k in CONTRAST]
    if not cuts:
        return weight
    bounds = [0, *cuts, len(keys)]
    out = list(weight)
    for lo, hi in zip(bounds, bounds[1:]):
        if any(k in OLDER for k in keys[lo:hi]):
            out[lo:hi] = [w * OLDER_WEIGHT for w in out[lo:hi]]
    return out


# ---- subject and themes -------------------------------------------------------------------
def _is_theme(k: str) -> bool:
    return (k in COMMODITIES or k in THEMES or k in PRICE_THEMES or k in CONTEXT_THEMES
            or k in BARRIERS or k in EVENTS or k == "export" or k == "import")


def _modifies_context(keys: list[str], i: int) -> bool:
    """"ethanol margins", "diesel makers": the commodity only names a business."""
    for k in keys[i + 1:i + 3]:
        if k in CONTEXT_THEMES:
            return True
        if not (k in COMMODITIES or k in THEMES):
            return False
    return False


def find_subject(keys: list[str], hint: str | None) -> str | None:
    named = [COMMODITIES[k] for i, k in enumerate(keys)
             if k in COMMODITIES and not _modifies_context(keys, i)]
    if hint:
        wanted = [COMMODITIES[u.key] for u in units(hint) if u.key in COMMODITIES]
        if wanted and wanted[0] in named:
            return wanted[0]
    return named[0] if named else None


def _group_end(r: Reading, start: int, stop: int, lead_in: frozenset = frozenset()) -> int | None:
    """From `start` rightwards: the head (last theme) of the noun group that starts there.

    Only determiners and `lead_in` words ("weighs *on* corn") may come before the group."""
    head = None
    for j in range(start, min(stop, len(r.keys))):
        k = r.keys[j]
        if r.clause[j] != r.clause[start - 1] or k in MOVES or k in LEVELS or k in NEGATIONS:
            break
        if k in STOPS and k != "and":
            if head is not None or not (k in DETERMINERS or k in lead_in):
                break
            continue
        if _is_theme(k):
            head = j
        elif head is not None and j > head + 1:
            break
    return head


def mark_group(r: Reading, t: int) -> None:
    """The theme at t and the themes joined to it ("biodiesel tax credit") are now read."""
    r.used.add(t)
    for step in (-1, 1):
        j = t + step
        while 0 <= j < len(r.keys) and r.clause[j] == r.clause[t] and _is_theme(r.keys[j]):
            r.used.add(j)
            j += step


def right_theme(r: Reading, i: int) -> int | None:
    lead_in = LEAD_INS.get(r.keys[i], frozenset())
    return _group_end(r, i + 1, i + 1 + SCAN + 1, lead_in)


def left_theme(r: Reading, i: int) -> int | None:
    for j in range(i - 1, -1, -1):
        if r.clause[j] != r.clause[i] and r.keys[j] != "and":
            return None
        if _is_theme(r.keys[j]):
            return j
    return None


def meaning(r: Reading, t: int) -> tuple[str, float]:
    """What a move of the unit at t means for the subject's price: (kind, sign)."""
    k = r.keys[t]
    if k in COMMODITIES:
        if any(c in CROP_VERBS for c in r.keys[max(0, t - 3):t]):
            return "fund", -1.0  # "farmers plant more corn": the crop, not the price
        same = r.subject is None or COMMODITIES[k] == r.subject
        return ("price", 1.0) if same else ("context", 0.5)
    if k in PRICE_THEMES:
        kind, sign = _price_noun(r, t)
        return kind, sign * PRICE_THEMES[k]
    if k == "export" or k == "import":
        return "fund", _trade_sign(r, t)
    if k == "crush":
        return "fund", -1.0 if r.subject in CRUSH_PRODUCTS else 1.0
    if k == "yield" and r.subject in RATE_SENSITIVE:
        return "context", -1.0  # bond yields, for gold and oil
    if k in RATE_THEMES:
        return "context", THEMES[k]
    if k in CONTEXT_THEMES:
        return "context", 0.0
    if k in BARRIERS:
        return "barrier", _barrier_side(r, t)
    return "fund", THEMES.get(k, 0.0)


def _price_noun(r: Reading, t: int) -> tuple[str, float]:
    """"prices", "futures": the subject's, unless the group names another market."""
    for j in range(max(0, t - 3), t):
        k = r.keys[j]
        if k in CONTEXT_THEMES or (k in COMMODITIES and r.subject and COMMODITIES[k] != r.subject):
            return "context", 0.5 if k in COMMODITIES else 0.0
    return "price", 1.0


def _trade_sign(r: Reading, t: int) -> float:
    if r.keys[t] == "import":
        return 1.0
    near = r.keys[max(0, t - 4):t + 2]
    return 1.0 if any(k in HOME_ORIGINS or k == "sale" for k in near) else -1.0


def _barrier_side(r: Reading, t: int) -> float:
    """+1 when the barrier holds supply back (export ban), -1 when it keeps demand out.

    Read from its own words: "export ban", "import duty", "ban on wheat exports", "bans
    palm oil exports"; else the barrier's usual side."""
    own = r.keys[max(0, t - 2):t]
    for j in range(t + 1, min(t + 6, len(r.keys))):
        k = r.keys[j]
        if k in MOVES or r.clause[j] != r.clause[t] or (k in STOPS and k != "on"):
            break
        own.append(k)
    if "export" in own:
        return 1.0
    if "import" in own:
        return -1.0
    return BARRIERS[r.keys[t]]


# ---- items --------------------------------------------------------------------------------
def _direction(k: str) -> float:
    return MOVES.get(k, 0.0) * STRONG.get(k, 1.0)


def _theme_of(r: Reading, i: int) -> int | None:
    k = r.keys[i]
    if k in TRANSITIVE:
        t = right_theme(r, i)
        if t is not None:
            return t
        compound = i > 0 and _is_theme(r.keys[i - 1]) and _ends_group(r, i)  # "output cut"
        return left_theme(r, i) if compound or r.units[i].word.endswith("ed") else None
    if k in DUAL or k in ATTRIBUTIVE:
        t = right_theme(r, i)
        return t if t is not None else left_theme(r, i)
    return left_theme(r, i)


def apply_move(r: Reading, i: int, direction: float, scale: float) -> None:
    """One move at i: find what moves and add what that means for the price."""
    k = r.keys[i]
    t = _theme_of(r, i)
    if t is None:
        if _free(r, i):
            r.add(direction * scale * FREE_WEIGHT, "price", i)  # "turns lower": the price moved
        return
    kind, sign = meaning(r, t)
    tk = r.keys[t]
    mark_group(r, t)
    if tk in EVENTS and kind == "fund" and not sign:
        grow = 1.0 if (k in EVENT_GROW or direction > 0) else -1.0
        r.add(grow * EVENTS[tk] * scale, "fund", i)
        return
    if kind == "barrier":
        direction = -abs(direction) if k in REMOVE_BARRIER else direction
        kind = "fund"
    r.add(direction * sign * scale, kind, i)


def _ends_group(r: Reading, i: int) -> bool:
    """Nothing the move could act on follows it ("strike ends after...", "tops forecasts")."""
    following = r.keys[i + 1] if i + 1 < len(r.keys) else ","
    return (following in STOPS or following in PUNCTUATION or following in COMPARED
            or r.clause[i + 1] != r.clause[i])


def _free(r: Reading, i: int) -> bool:
    """A move with no theme is the subject's price, unless it needs an object ("boosts") or
    qualifies a noun the lexicon does not know ("higher costs")."""
    k = r.keys[i]
    if k in TRANSITIVE or k in LEVELS or k in NEVER_FREE:
        return False
    following = r.keys[i + 1] if i + 1 < len(r.keys) else ","
    return k not in ATTRIBUTIVE or following in STOPS or following in PUNCTUATION or following in CONTRAST


def _reversal(r: Reading, i: int) -> int | None:
    """"pares gains", "recoups early losses": the move noun this reversal acts on."""
    for j in range(i + 1, min(i + 4, len(r.keys))):
        if r.keys[j] in MOVE_NOUNS:
            return j
    return None


def _continues(r: Reading, i: int) -> bool:
    """"extends gains", "holds gains", "books a weekly gain": the noun after says the move."""
    for k in r.keys[i + 1:i + 6]:
        if k in MOVE_NOUNS or k in LEVELS:
            return True
        if k in STOPS and k not in DETERMINERS or k in PUNCTUATION:
            return False
    return False


def _level_scale(r: Reading, i: int) -> float | None:
    before = r.keys[max(0, i - 4):i]
    if any(k in ORIGIN for k in before):
        return None  # "rebounds from a low": where the move began
    return STATE_WEIGHT if any(k in STATE for k in before) else LEVEL_WEIGHT


def collect(r: Reading) -> None:
    """Moves first (they take their themes), then the events and barriers left standing."""
    open_negations = _read_moves(r)
    open_negations = _read_events(r, open_negations)
    for n in open_negations:  # "rally fails to hold": nothing after it, so what came before
        earlier = [it for it in r.items if it.pos < n and it.clause == r.clause[n]]
        if earlier:
            earlier[-1].value *= NEGATION_FACTOR


def _read_moves(r: Reading) -> list[int]:
    scale, negation, open_negations, skip = 1.0, -1, [], set()
    for i, k in enumerate(r.keys):
        before = len(r.items)
        if i in skip or i in r.used:
            continue
        if k in NEGATIONS or k in DENIALS:
            if negation >= 0:
                open_negations.append(negation)
            negation = i
            if DENIALS.get(k):
                apply_move(r, i, _direction(base(DENIALS[k])) or -1.0, 1.0)
        elif k in INTENSIFIERS and r.items and r.items[-1].pos == i - 1:
            r.items[-1].value *= INTENSIFIERS[k]  # "falls sharply": the adverb after the move
        elif k in INTENSIFIERS and not (k in LEVELS and not _moves_follow(r, i)):
            scale = INTENSIFIERS[k]
            continue
        elif k in REVERSE and (j := _reversal(r, i)) is not None:
            skip.add(j)
            apply_move(r, j, -MOVES.get(r.keys[j], 0.0), scale)
        elif k in CONTINUE and _continues(r, i):
            pass
        elif k in BUY and not _continues(r, i):
            r.add(1.0 * scale, "fund", i)
        elif k in SELL:
            r.add(-1.0 * scale, "fund", i)
        elif k in LEVELS and right_theme(r, i) is None:
            level = _level_scale(r, i)
            if level is not None and LEVELS[k]:
                apply_move(r, i, LEVELS[k], scale * level)
        elif k in UNDO_AFTER and i and r.keys[i - 1] in MOVE_NOUNS and r.items:
            r.items[-1].value *= NEGATION_FACTOR  # "rebound runs out of steam"
        elif k in MOVES or k in LEVELS:
            _surprise(r, i)
            apply_move(r, i, _direction(k) or LEVELS.get(k, 0.0), scale)
        elif k in UNDO_AFTER and r.items and r.items[-1].clause == r.clause[i]:
            r.items[-1].value *= NEGATION_FACTOR
        scale = 1.0
        if negation >= 0 and len(r.items) > before and i - negation <= NEGATION_WINDOW:
            for item in r.items[before:]:
                item.value *= NEGATION_FACTOR
            negation = -1
        elif negation >= 0 and i - negation >= NEGATION_WINDOW:
            open_negations.append(negation)
            negation = -1
    return open_negations + ([negation] if negation >= 0 else [])


def _moves_follow(r: Reading, i: int) -> bool:
    """"biggest weekly gain": the word sizes a move; "stocks biggest in years": a level."""
    return any(k in MOVES or k in MOVE_NOUNS for k in r.keys[i + 1:i + 4])


def _surprise(r: Reading, i: int) -> None:
    """"build smaller than expected": the comparison replaces the move it qualifies."""
    if i + 1 < len(r.keys) and r.keys[i + 1] == "expected" and r.keys[i] in ATTRIBUTIVE:
        if r.items and r.items[-1].clause == r.clause[i]:
            r.items.pop()


def _read_events(r: Reading, open_negations: list[int]) -> list[int]:
    """Events and barriers no move took: each counts with its own sign ("drought" > 0)."""
    for i, k in enumerate(r.keys):
        if i in r.used or not (k in EVENTS or k in BARRIERS) or k in QUIET_BARRIERS:
            continue
        before = len(r.items)
        scale = INTENSIFIERS.get(r.keys[i - 1], 1.0) if i else 1.0
        r.add((EVENTS[k] if k in EVENTS else _barrier_side(r, i)) * scale, "fund", i)
        # a negation right before an event denies it ("no drought", "no sign of cold")
        hit = [n for n in open_negations if 0 < i - n <= (3 if r.keys[n] == "nosign" else 1)]
        if hit and len(r.items) > before:
            r.items[-1].value *= NEGATION_FACTOR
            open_negations.remove(hit[0])
    return open_negations


def combine(items: list[Item]) -> float:
    """The price's own moves decide; else supply, demand and events; else the context."""
    sums = {"price": 0.0, "fund": 0.0, "context": 0.0}
    for item in items:
        sums[item.kind] += item.value
    order = [sums["price"], sums["fund"], sums["context"]]
    for n, lead in enumerate(order):
        if lead:
            rest = sum(order[n + 1:]) * SUPPORT
            return lead + rest if (lead + rest) * lead > 0 else lead
    return 0.0


def read(text: str, subject: str | None = None) -> float:
    """The signed strength of a headline's price direction (0.0: none)."""
    r = Reading(units(text), subject)
    collect(r)
    return combine(r.items)
