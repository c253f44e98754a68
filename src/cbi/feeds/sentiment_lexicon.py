"""Word lists of the commodity headline scorer, in plain English base forms.

`sentiment_text` stems every entry with the same Snowball stemmer it uses on headlines, so
"boost" here also matches "boosting", "boosted" and "boosts". Signs are what a word means for
a commodity's *price* as a trader reads it, not the mood of the sentence: "drought" is
bullish, "bumper" bearish (Loughran-McDonald and VADER get these backwards or miss them).
"""

from __future__ import annotations

#: Forms the stemmer cannot bring to a base form (irregular verbs), or would merge with
#: another word ("ratings" -> "rate", "holdings" -> "hold").
SURFACE: dict[str, str] = {
    "rose": "rise", "risen": "rise", "fell": "fall", "fallen": "fall", "sank": "sink",
    "sunk": "sink", "slid": "slide", "shrank": "shrink", "shrunk": "shrink", "grew": "grow",
    "grown": "grow", "lost": "lose", "held": "hold", "gave": "give", "given": "give",
    "sent": "send", "sold": "sell", "bought": "buy", "kept": "keep", "drove": "drive",
    "driven": "drive", "swung": "swing", "led": "lead", "broke": "break", "ratings": "rating",
    "holdings": "holding", "soy": "soybean", "aluminum": "aluminium", "natgas": "natgas",
    "u.s.": "us", "opec+": "opec", "ore": "ore", "news": "news", "rates": "rate_",
    "rate": "rate_", "tight": "tight", "tighter": "tight", "stronger": "strong",
    "weaker": "weak", "firmer": "firm", "softer": "soft", "bigger": "big", "larger": "large",
    "smaller": "small", "deeper": "deep", "colder": "cold", "cooler": "cold", "warmer": "warm",
    "highest": "highest", "lowest": "lowest", "higher": "higher", "lower": "lower",
    "timely": "timely",
}

#: Multi-word names and idioms, read as one unit (base forms; the first match wins).
PHRASES: dict[str, str] = {
    # commodities
    "soybean oil": "soyoil", "soy oil": "soyoil", "palm oil": "palm", "crude oil": "crude",
    "crude palm oil": "palm", "natural gas": "natgas", "iron ore": "ironore",
    "heating oil": "heatingoil", "sunflower oil": "sunoil", "sunflower seed": "sunseed",
    "rapeseed oil": "rapeoil", "vegetable oil": "vegoil", "edible oil": "vegoil",
    "cooking oil": "cookingoil", "rival oil": "rivaloil", "soybean meal": "soymeal",
    "power price": "powerprice", "power stock": "equity", "chinese stock": "equity",
    "wall street": "equity", "oil major": "business", "rough rice": "rice",
    # positions
    "net long": "longs", "net buyer": "longs", "bullish bet": "longs", "long position": "longs",
    "net short": "shorts", "short position": "shorts", "bearish bet": "shorts",
    "net seller": "shorts", "short covering": "shortcovering", "short cover": "shortcovering",
    "short squeeze": "shortcovering", "profit taking": "profittaking", "fund buying": "longs",
    # idioms of movement
    "sell off": "selloff", "claw back": "recoup", "pull back": "retreat",
    "run out of steam": "fade", "losing streak": "loss", "winning streak": "gain", "lose steam": "fade", "lose momentum": "fade", "give up": "giveup", "give back": "giveup", "scale back": "cut",
    "step up": "raise", "ramp up": "raise", "pick up": "rise", "shore up": "support",
    "knock out": "halt", "shut in": "halt", "limit up": "up", "limit down": "down",
    "shrug off": "ignore", "all time": "alltime", "multi year": "multiyear",
    "turn net buyer": "longs", "flip to net long": "longs",
    # negation idioms
    "no longer": "not", "not enough": "not", "in no hurry": "not", "unable to": "not",
    "fail to": "not", "fails to": "not", "no end": "noend", "no relief": "norelief",
    "no sign": "nosign", "no boost": "noboost",
    # events and drivers
    "downside risk": "downside", "upside risk": "upside", "heat wave": "heatwave", "dry spell": "drought", "dry weather": "drought",
    "cold snap": "cold", "el nino": "elnino", "la nina": "lanina", "rate cut": "ratecut",
    "rate hike": "ratehike", "higher for longer": "hawkish", "safe haven": "safehaven",
    "risk appetite": "riskon", "export sale": "exportsales", "export inspection": "exportsales",
    "crop rating": "rating", "crop condition": "rating", "supply crunch": "crunch",
    "tight range": "range", "narrow range": "range", "thin trade": "range",
    "power cut": "outage", "power burn": "demand", "central bank buying": "demand",
    "ending stock": "stocks", "distillate stock": "stocks", "grain stock": "stocks",
    # clause words
    "even as": "as", "ahead of": "before", "due to": "on", "in the wake of": "after",
    "than expected": "expected", "than feared": "expected", "than forecast": "expected",
    "more than expected": "expected", "below expectation": "less", "above expectation": "more",
    "below trade expectation": "less", "above trade expectation": "more",
    "below forecast": "less", "above forecast": "more", "below estimate": "less",
    "above estimate": "more", "below trade estimate": "less", "above trade estimate": "more",
    "below trade forecast": "less", "above trade forecast": "more", "flood market": "glut",
    "flood the market": "glut",
}

#: Price moves. Each is read against the thing that moves (its "theme", `THEMES`).
UP: dict[str, float] = {w: 1.0 for w in (
    "rise climb gain jump surge soar rally advance firm strengthen rebound recover bounce "
    "spike up higher increase boost lift raise grow expand swell build accelerate "
    "outperform top beat exceed outstrip support underpin bolster buoy revive skyrocket "
    "rocket shine recoup extend add more strong robust solid brisk big large heavy huge "
    "massive hefty rising growing expanding swelling balloon bumper ample abundant "
    "plentiful resume restart return reopen restore refill improve good tighten widen "
    "rebuild "
    "tight drive push impose slap introduce approve grant flip turn"
).split()}
DOWN: dict[str, float] = {w: -1.0 for w in (
    "fall drop slide slip dip decline ease sink slump tumble plunge crash collapse "
    "retreat weaken soften sag shed lose down lower cut slash trim reduce curb shrink "
    "drag weigh pressure dent pare cap depress dampen dull pull fade narrow "
    "halve tarnish loss weak poor sluggish slow soft small fewer less smaller shrinking "
    "falling dwindle scarce halt shut suspend stop close block disrupt hamper hit hurt "
    "damage threaten scorch end cancel lapse delay deny skip pause scrap remove abolish "
    "relief tame deteriorate worsen drift deflate evaporate stall falter erase "
    "squeeze sour tank draw relax loosen knock"
).split()}
#: Big moves count more.
STRONG: dict[str, float] = {w: 1.5 for w in (
    "surge soar skyrocket rocket jump spike plunge crash collapse tumble slump tank "
    "slash sink"
).split()}

#: Moves that need an object to mean anything ("boosts demand"); alone they are dropped.
TRANSITIVE: frozenset[str] = frozenset((
    "boost lift raise support underpin bolster buoy drive push weigh pressure drag dent "
    "cap depress dampen dull pull tame cut slash trim reduce curb halt shut suspend stop "
    "close block disrupt hamper hit hurt damage threaten scorch end cancel delay deny skip "
    "pause scrap remove abolish impose slap introduce approve grant restore refill beat "
    "top exceed outstrip extend revive add squeeze flip turn relax loosen knock"
).split())
#: Moves that take an object when one follows ("Saudi eases sanctions"), else their subject
#: moves ("futures ease").
DUAL: frozenset[str] = frozenset((
    "ease increase expand shrink lower weaken strengthen soften tighten improve resume "
    "restart return restore reopen grow swell build rise fall drop draw widen rebuild sink"
).split())
#: Moves of a plant, mine or route, never of a price: without a theme they say nothing.
NEVER_FREE: frozenset[str] = frozenset("resume restart return reopen restore improve".split())
#: Adjectives: they say how the noun after them moves ("strong demand", "higher prices").
ATTRIBUTIVE: frozenset[str] = frozenset((
    "strong robust solid brisk big large heavy huge massive hefty rising growing expanding "
    "swelling bumper ample abundant plentiful weak poor sluggish slow soft small fewer less "
    "smaller shrinking falling scarce good tight more higher lower record improve firm "
    "deep"
).split())
#: Verbs that carry on the move noun after them ("extends gains", "posts a weekly loss").
CONTINUE: frozenset[str] = frozenset(
    "extend add hold keep sustain post log notch book mark see head set build deepen "
    "record hit touch reach scale".split())
#: What a figure is compared with ("tops forecasts"): not the thing that moves.
COMPARED: frozenset[str] = frozenset("forecast expectation expected estimate".split())
#: Buying said as an act ("Egypt buys wheat", "China books cargoes"): demand up.
BUY: frozenset[str] = frozenset("buy book purchase secure".split())
#: Selling said as an act ("farmers rush to sell soybeans"): supply up.
SELL: frozenset[str] = frozenset("sell dump offload unload".split())

#: Moves that turn a move noun around: "pares gains" is down, "recoups losses" up.
REVERSE: frozenset[str] = frozenset(
    "pare giveup recoup reverse erase trim shed snap break end".split())
#: Move nouns those reversals act on.
MOVE_NOUNS: frozenset[str] = frozenset(
    "gain loss rally slide selloff rebound decline drop fall rise jump surge slump advance "
    "retreat dip cut increase recovery".split())
#: A move just said is undone by one of these after it ("rally fails", "gains fade").
UNDO_AFTER: frozenset[str] = frozenset("fade stall falter evaporate".split())

#: Levels as events: "hits a two-month high" is up, "lowest since June" down.
LEVELS: dict[str, float] = {
    "high": 1.0, "highest": 1.0, "peak": 1.0, "record": 1.0, "best": 1.0, "alltime": 0.0,
    "low": -1.0, "lowest": -1.0, "bottom": -1.0, "trough": -1.0, "worst": -1.0,
    "strongest": 1.0, "weakest": -1.0, "biggest": 1.0, "smallest": -1.0,
}
#: Words that make the next move bigger or smaller.
INTENSIFIERS: dict[str, float] = {
    "sharply": 1.4, "sharp": 1.3, "steeply": 1.4, "steep": 1.3, "biggest": 1.3,
    "steepest": 1.3, "sharpest": 1.3, "deep": 1.2, "heavily": 1.3, "dramatically": 1.4,
    "significantly": 1.3, "slightly": 0.6, "modestly": 0.6, "marginally": 0.5,
    "slight": 0.6, "modest": 0.6, "edge": 0.6, "little": 0.5, "nudge": 0.6,
}

#: What moves, and its sign for the price: supply up is price down, demand up is price up.
#: "price" is the commodity's own price; "dollar" moves against commodities; "context"
#: themes (stocks, margins) carry no sign for the commodity.
THEMES: dict[str, float] = {
    **{w: -1.0 for w in (
        "supply output production produce harvest crop yield stocks stockpile inventory "
        "inventories acreage acre planting area shipment arrival availability capacity "
        "carryover reserve loading flow mining mine mines field oilfield smelter condition "
        "smelters estate plantation pipeline storage injection build delivery rating "
        "weather selling quota glutted corridor allowance"
    ).split()},
    **{w: 1.0 for w in (
        "demand consumption purchase buying buy orders mandate blending usage use imports "
        "appetite interest offtake requirement target volume exportsales credit inflow "
        "holding longs crush tender cargo plan buyer sale"
    ).split()},
    "shorts": -1.0, "outflow": -1.0, "waiver": -1.0, "exemption": -1.0, "selloff": -1.0,
    "profittaking": -1.0, "shortcovering": 1.0,
    "dollar": -1.0, "greenback": -1.0, "ringgit": -1.0, "real": -1.0, "yield_": -1.0,
    "rate_": -1.0, "treasury": -1.0,
    "equity": 0.0, "share": 0.0, "business": 0.0, "margin": 0.0,
}
#: Themes of interest rates and currencies: context that moves against commodities.
RATE_THEMES: frozenset[str] = frozenset("dollar greenback ringgit real rate_ treasury".split())
#: Commodities whose "yields" are bond yields, not crop yields.
RATE_SENSITIVE: frozenset[str] = frozenset(
    "gold silver platinum palladium copper crude natgas aluminium".split())
#: Words that end a noun group ("cuts exports *to* China").
GROUP_STOPS: frozenset[str] = frozenset(
    "to from of in on for at by as with after amid despite than and the a an its".split())
#: Themes that are the commodity's own price, and the sign of their move ("discounts widen": down).
PRICE_THEMES: dict[str, float] = {
    **{w: 1.0 for w in "price futures contract market value premium".split()}, "discount": -1.0}
#: Themes that carry no sign for the commodity (another market, a business).
CONTEXT_THEMES: frozenset[str] = frozenset(
    "equity share business margin maker farmer crusher miner producer worker airline "
    "feeder baker income powerprice cookingoil".split())

#: Barriers: up (imposed, raised) is price up when they hold supply back (a producer's export
#: ban or tax, sanctions on a producer), price down when they keep demand out (a buyer's
#: import duty). Which side: "export"/"import" nearby, else the default here.
BARRIERS: dict[str, float] = {
    "ban": 1.0, "embargo": 1.0, "tax": 1.0, "levy": 1.0, "duty": -1.0, "tariff": -1.0,
    "curb": 1.0, "restriction": 1.0, "sanction": 1.0, "rebate": -1.0, "rule": 1.0,
    "regulation": 1.0, "control": 1.0,
}
#: Barriers that say nothing until something moves them ("tightens export rules").
QUIET_BARRIERS: frozenset[str] = frozenset("rule regulation control".split())
#: Verbs that take a barrier away: "lifts a ban" is the ban going down.
REMOVE_BARRIER: frozenset[str] = frozenset(
    "lift end remove scrap abolish ease lapse relax loosen".split())

#: Events and conditions: the direction they imply for the price on their own.
EVENTS: dict[str, float] = {
    "drought": 1.2, "dry": 0.8, "dryness": 1.0, "parched": 1.0, "heatwave": 1.0,
    "heat": 0.6, "scorching": 0.8, "frost": 1.0, "freeze": 1.0, "freezing": 1.0,
    "cold": 0.8, "flood": 0.6, "hurricane": 0.8, "storm": 0.6, "cyclone": 0.8,
    "strike": 1.0, "protest": 0.8, "outage": 1.0, "shutdown": 1.0, "closure": 1.0,
    "suspension": 1.0, "fire": 0.8, "attack": 0.8, "missile": 0.8, "drone": 0.6,
    "war": 0.8, "conflict": 0.8, "tension": 0.8, "geopolitical": 0.6, "turmoil": 0.8,
    "crisis": 0.6, "disruption": 1.0, "shortage": 1.0, "deficit": 1.0, "tight": 1.0,
    "tightness": 1.0, "shortfall": 1.0, "crunch": 1.0, "scarcity": 1.0, "elnino": 0.8,
    "lanina": 0.8, "pest": 0.6, "blight": 0.8, "fear": 0.5, "worry": 0.5, "concern": 0.5,
    "risk": 0.3, "safehaven": 1.0, "stimulus": 1.0, "ratecut": 1.0, "dovish": 1.0,
    "bullish": 1.2, "bull": 0.8, "hoarding": 0.6, "longs": 0.8, "shorts": -0.8,
    "glut": -1.2, "surplus": -1.0, "oversupply": -1.2, "oversupplied": -1.2,
    "bumper": -1.0, "rain": -0.6, "favorable": -0.8, "favourable": -0.8,
    "beneficial": -0.8, "ideal": -0.8, "timely": -0.6, "benign": -0.8, "mild": -0.6,
    "recession": -1.0, "slowdown": -1.0, "ceasefire": -1.0, "truce": -1.0, "peace": -0.8,
    "hawkish": -1.0, "ratehike": -1.0, "riskon": -0.6, "bearish": -1.2, "bear": -0.8,
    "lockdown": -1.0, "disappoint": -0.8, "profittaking": -0.8, "shortcovering": 0.8,
    "selloff": -1.0, "liquidation": -1.0, "downside": -1.0, "upside": 1.0, "breakout": 1.0,
}
#: Moves that grow an event ("drought worsens", "tensions flare"), and moves that shrink it.
EVENT_GROW: frozenset[str] = frozenset(
    "worsen deepen spread intensify persist linger mount grow flare escalate rise".split())

#: Words that flip the next move or event (or the one just before when none follows).
NEGATIONS: frozenset[str] = frozenset(
    "not no never without nor neither unlikely cannot lack doubt".split())
#: "no end to buying": the noun after these is what is denied.
DENIALS: dict[str, str] = {"noend": "end", "norelief": "relief", "nosign": "", "noboost": "boost"}

#: Clause openers: what follows is the cause or the background, not the main news.
SUBORDINATE: frozenset[str] = frozenset(
    "as while after amid despite with following before on by because".split())
#: Verbs whose object follows a preposition ("weighs on corn", "adds to supply").
LEAD_INS: dict[str, str] = {"weigh": "on", "drag": "on", "pressure": "on", "add": "to",
                            "draw": "in", "build": "in"}
#: Words a noun group may start with.
DETERMINERS: frozenset[str] = frozenset("the a an its".split())
#: After these the commodity is a crop in the field ("farmers plant more corn"), i.e. supply.
CROP_VERBS: frozenset[str] = frozenset("plant sow".split())
#: What follows these weighs less still (it is what the market ignored).
DISCOUNT: frozenset[str] = frozenset("despite ignore".split())
#: Contrast: the clause after weighs more (the latest news).
CONTRAST: frozenset[str] = frozenset("but however yet although though".split())
#: A move said with these is the older one ("opens higher", "weekly loss").
OLDER: frozenset[str] = frozenset(
    "week weekly month monthly year quarter quarterly annual early earlier open initial "
    "overnight".split())
#: "on" followed by these is a time, not a cause ("higher on the day").
TIME_WORDS: frozenset[str] = frozenset(
    "the day week month year monday tuesday wednesday thursday friday saturday sunday "
    "session close track hold".split())
#: A level after these is where the move started ("rebounds from a low"): not news.
ORIGIN: frozenset[str] = frozenset({"from", "off"})
#: A level after these is a state ("stays near a low"): it weighs little.
STATE: frozenset[str] = frozenset("near above below around stay remain hover".split())

#: Exports from these origins are the benchmark's own demand (U.S. export sales for CBOT,
#: Malaysian palm exports); a rival origin's exports are supply.
HOME_ORIGINS: frozenset[str] = frozenset("us american malaysia malaysian".split())

#: Commodities: common names (base forms) and the market they belong to.
COMMODITIES: dict[str, str] = {
    "corn": "corn", "maize": "corn", "wheat": "wheat", "rice": "rice", "oat": "oats",
    "barley": "barley", "sorghum": "sorghum", "grain": "grains", "soybean": "soybeans",
    "bean": "soybeans", "soymeal": "soymeal", "meal": "soymeal", "canola": "canola",
    "rapeseed": "rapeseed", "sunseed": "sunflower", "sunflower": "sunflower",
    "oilseed": "oilseeds", "soyoil": "soyoil", "palm": "palm", "rapeoil": "rapeoil",
    "sunoil": "sunoil", "vegoil": "vegoil", "rivaloil": "vegoil", "crude": "crude",
    "oil": "crude", "brent": "crude", "wti": "crude", "natgas": "natgas", "gas": "natgas",
    "lng": "natgas", "ttf": "natgas", "gasoline": "gasoline", "heatingoil": "diesel",
    "diesel": "diesel", "distillate": "diesel", "coal": "coal", "ethanol": "ethanol",
    "uranium": "uranium", "gold": "gold", "silver": "silver", "copper": "copper",
    "aluminium": "aluminium", "nickel": "nickel", "zinc": "zinc", "ironore": "ironore",
    "platinum": "platinum", "palladium": "palladium", "lithium": "lithium", "steel": "steel",
    "rebar": "steel", "tin": "tin", "cotton": "cotton", "sugar": "sugar", "coffee": "coffee",
    "cocoa": "cocoa", "metal": "metals", "biodiesel": "biodiesel",
}
#: Crushing makes meal and oil out of beans: for those, more crush is more supply.
CRUSH_PRODUCTS: frozenset[str] = frozenset("soymeal soyoil rapeoil sunoil".split())
