"""Label normalisation and signal extraction (pure): the vocabulary of supplier catalogues.

Folds case, accents and ligatures; removes measures, packs, packaging, states and legal forms;
expands abbreviations; sets quality and origin tokens aside as :class:`Signals`. Used by
:mod:`workbench.matching.engine` and by anyone who needs a label's normalised key.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

#: ma-cantine quality codes, in ma-cantine's priority order.
QUALITY_ORDER = (
    "BIO",
    "LABEL_ROUGE",
    "AOCAOP",
    "IGP",
    "STG",
    "HVE",
    "PECHE_DURABLE",
    "COMMERCE_EQUITABLE",
    "FERMIER",
)

QUALITY_TOKENS: dict[str, str] = {
    "bio": "BIO",
    "ab": "BIO",
    "biologique": "BIO",
    "lr": "LABEL_ROUGE",
    "aop": "AOCAOP",
    "aoc": "AOCAOP",
    "igp": "IGP",
    "stg": "STG",
    "hve": "HVE",
    "msc": "PECHE_DURABLE",
    "fermier": "FERMIER",
    "fermiere": "FERMIER",
    "fermiers": "FERMIER",
    "fermieres": "FERMIER",
}

#: Two-word quality/origin phrases, recognised before single tokens.
PHRASES: dict[tuple[str, str], tuple[str, str]] = {
    ("label", "rouge"): ("quality", "LABEL_ROUGE"),
    ("agriculture", "biologique"): ("quality", "BIO"),
    ("peche", "durable"): ("quality", "PECHE_DURABLE"),
    ("commerce", "equitable"): ("quality", "COMMERCE_EQUITABLE"),
    ("origine", "france"): ("origin", "FRANCE"),
    ("origine", "ue"): ("origin", "EUROPE"),
    ("sous", "vide"): ("state", "SOUS_VIDE"),
}

#: Origin tokens (VBF & co. are origin mentions, *not* quality labels).
ORIGIN_TOKENS: dict[str, str] = {
    "vbf": "FRANCE",  # viande bovine française
    "vpf": "FRANCE",  # viande porcine française
    "vf": "FRANCE",  # viande française / volaille française
    "vof": "FRANCE",  # viande ovine française
    "vvf": "FRANCE",  # volaille française
    "fr": "FRANCE",
    "fra": "FRANCE",
    "france": "FRANCE",
    "francais": "FRANCE",
    "francaise": "FRANCE",
    "ue": "EUROPE",
    "cee": "EUROPE",
    "europe": "EUROPE",
}

STATE_TOKENS: dict[str, str] = {
    "surg": "SURGELE",
    "surgel": "SURGELE",
    "surgele": "SURGELE",
    "surgelee": "SURGELE",
    "surgeles": "SURGELE",
    "surgelees": "SURGELE",
    "cong": "SURGELE",
    "congele": "SURGELE",
    "congelee": "SURGELE",
    "congeles": "SURGELE",
    "iqf": "SURGELE",
    "sousvide": "SOUS_VIDE",
    "4egamme": "4E_GAMME",
    "5egamme": "5E_GAMME",
    "pad": "PAD",
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


PACKAGING_TOKENS = _words(
    """barq barquette barquettes bib bidon bocal bocaux boite boites bouteille bouteilles bq
    brique briques bte btes cal calibre carton cartons colis ct env environ flacon fut kg kgs
    lot lots pack packs paquet paquets pc pce pces pcs piece pieces plaque plq poche pqt sac
    sachet sachets seau seaux tube u unite unites uvc vrac x"""
)

LEGAL_FORMS = _words("""earl eurl gaec sa sarl sas sasu sca scea sci scop selarl snc""")

STOPWORDS = _words("""de du des d la le les l a au aux et ou en avec pour sur un une""")

#: Common abbreviations of French foodservice catalogues (folded form → expansion).
ABBREVIATIONS: dict[str, str] = {
    "bf": "boeuf",
    "boeu": "boeuf",
    "pdt": "pomme de terre",
    "pdts": "pomme de terre",
    "nat": "nature",
    "from": "fromage",
    "fromag": "fromage",
    "fbl": "fromage blanc",
    "ecr": "ecreme",
    "ecrem": "ecreme",
    "tr": "tranche",
    "tran": "tranche",
    "choc": "chocolat",
    "van": "vanille",
    "sce": "sauce",
    "leg": "legume",
    "mg": "matiere grasse",
    "vol": "volaille",
    "poul": "poulet",
    "cuis": "cuisse",
    "esc": "escalope",
    "escal": "escalope",
    "eminc": "emince",
    "emin": "emince",
    "hach": "hache",
    "jamb": "jambon",
    "jbn": "jambon",
    "dde": "dinde",
    "dind": "dinde",
    "fil": "filet",
    "flt": "filet",
    "pav": "pave",
    "morc": "morceau",
    "saum": "saumon",
    "cab": "cabillaud",
    "yaou": "yaourt",
    "yrt": "yaourt",
    "yt": "yaourt",
    "pt": "petit",
    "pts": "petit",
    "gd": "grand",
    "gde": "grande",
    "blc": "blanc",
    "bl": "blanc",
    "vt": "vert",
    "vts": "vert",
    "rge": "rouge",
    "ss": "sans",
    "sucr": "sucre",
    "arom": "aromatise",
    "aro": "aromatise",
    "frt": "fruit",
    "frts": "fruit",
    "hv": "haricot vert",
    "har": "haricot",
    "haric": "haricot",
    "tom": "tomate",
    "spag": "spaghetti",
    "spagh": "spaghetti",
    "moz": "mozzarella",
    "mozza": "mozzarella",
    "emm": "emmental",
    "rap": "rape",
    "past": "pasteurise",
    "ent": "entier",
    "dem": "demi",
    "prep": "preparation",
    "prepa": "preparation",
    "choufl": "chou fleur",
    "cpte": "compote",
    "conf": "confiture",
    "vinaig": "vinaigrette",
    "mayo": "mayonnaise",
    "huil": "huile",
    "beur": "beurre",
    "dx": "doux",
    "gat": "gateau",
    "bisc": "biscuit",
    "crev": "crevette",
    "champ": "champignon",
    "chp": "champignon",
    "conc": "concentre",
    "deshy": "deshydrate",
    "desh": "deshydrate",
    "sauc": "saucisse",
    "merg": "merguez",
    "st": "saint",
    "ste": "sainte",
    "rti": "roti",
    "ctes": "cote",
    "ctl": "cotelette",
    "epaul": "epaule",
    "ptes": "pate",
    "frs": "frais",
    "moy": "moyen",
}

#: Words that say little about the product (cooking state, process): low weight on both sides.
WEAK_WORDS = _words(
    """aliment appertise appertisee classique cru crue crues crus cuit cuite cuites cuits egoutte
    egouttee fraiche frais maison moyen moyenne nature ordinaire preemballe preemballee
    preemballes standard type uht"""
)

# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------

_TRANSLATE = str.maketrans(
    {
        "œ": "oe",
        "Œ": "OE",
        "æ": "ae",
        "Æ": "AE",
        "ß": "ss",
        "\u00a0": " ",
        "\u202f": " ",
        "\u2007": " ",
        "\u2009": " ",
        "\u2044": "/",
        "’": "'",
        "`": "'",
    }
)

_UNIT = (
    r"(?:kgs?|grs?|g|grammes?|l|lt|ltr|litres?|cl|ml|dl|cm|mm|pc|pce|pces|pcs|p|u|uvc"
    r"|portions?|parts?|tr|tranches?|unites?|pieces?|btes?|boites?)"
)
_NUM = r"\d+(?:[.,]\d+)?"
_B = r"(?<![a-z0-9])"  # left boundary: not inside an alphanumeric word
_E = r"(?![a-z0-9])"  # right boundary
_PRE_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(_B + r"s\s*/\s*v" + _E), " sousvide "),
    (re.compile(_B + r"([45])\s*(?:e|eme|ieme)\s*gamme" + _E), r" \1egamme "),
    (re.compile(_B + r"1\s*/\s*2" + _E), " demi "),
    (re.compile(_B + r"s\s*/\s*s" + _E), " sans sucre "),
]
_MEASURE_RES: list[re.Pattern[str]] = [
    # 15% MG, 0,5 %, 20 % de MG
    re.compile(_B + _NUM + r"\s*%(?:\s*(?:de\s+)?m\.?\s?g\.?" + _E + r")?"),
    # 20 MG (fat content without the percent sign)
    re.compile(_B + _NUM + r"\s*m\.?g" + _E),
    # 10X1KG, 6X1L, 12 x 125 g, 10*1kg
    re.compile(_B + r"\d+\s*[x*]\s*" + _NUM + r"\s*" + _UNIT + r"?" + _E),
    # 125G X48, X 60
    re.compile(_B + r"x\s*\d+" + _E),
    # 48X
    re.compile(_B + r"\d+\s*x" + _E),
    # 1KG 500G 2.5KG 2,5KG 1L 75CL 10 PCES
    re.compile(_B + _NUM + r"\s*" + _UNIT + _E),
    # can formats 4/4 5/1 3/1, calibres 60/80
    re.compile(_B + r"\d+\s*/\s*\d+" + _E),
    # remaining bare numbers
    re.compile(_B + _NUM + _E),
]
_TOKEN_RE = re.compile(r"[a-z0-9]+")
#: a measure typed with letter slips (``1OOG``, ``2OOML``): never repaired into a word
_SLIPPED_MEASURE = re.compile(r"\d[\doil]*" + _UNIT)
_OCR = str.maketrans({"0": "o", "1": "i", "5": "s"})


@dataclass(frozen=True)
class Signals:
    """Quality labels (ma-cantine codes) and origins found in a label."""

    quality: tuple[str, ...] = ()
    origin: tuple[str, ...] = ()

    def __str__(self) -> str:
        parts = []
        if self.quality:
            parts.append("quality=" + "+".join(self.quality))
        if self.origin:
            parts.append("origin=" + "+".join(self.origin))
        return ";".join(parts)


@dataclass(frozen=True)
class NormalisedLabel:
    """A label after normalisation. ``raw`` is kept intact; ``key`` is the alias key."""

    raw: str
    words: tuple[str, ...]
    stems: tuple[str, ...]
    signals: Signals = field(default_factory=Signals)
    states: tuple[str, ...] = ()
    measures: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Normalised label (words in order): the key of label aliases and rejections."""
        return " ".join(self.words)

    @property
    def fingerprint(self) -> str:
        """OpenRefine-style fingerprint: sorted unique stems."""
        return " ".join(sorted(set(self.stems)))


def fold(text: str) -> str:
    """Lower-case, strip accents, expand ligatures, replace non-breaking spaces."""
    # translated again after NFKD (``½`` decomposes to ``1⁄2``) and decomposed again after
    # casefold (``ᾈ`` folds to a precomposed letter): folding a folded text changes nothing
    text = unicodedata.normalize("NFKD", str(text).translate(_TRANSLATE)).translate(_TRANSLATE)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def stem(word: str) -> str:
    """Very light French stemmer: drops plural ``s``/``x`` and trailing ``e`` (consistent on
    both sides, so ``carottes``/``carotte`` and ``lavee``/``lave`` meet)."""
    if len(word) > 3 and word[-1] in "sx" and not word.endswith("ss"):
        word = word[:-1]
    while len(word) > 3 and word[-1] == "e":
        word = word[:-1]
    return word


def _repair_ocr(token: str) -> str | None:
    """Repair 0/1/5 slips inside alphabetic words; ``None`` if the token is not a word."""
    if token.isalpha():
        return token
    if token.isdigit() or token[:2].isdigit() or _SLIPPED_MEASURE.fullmatch(token):
        return None
    digits = [c for c in token if c.isdigit()]
    letters = len(token) - len(digits)
    if letters >= 2 and len(token) >= 3 and all(c in "015" for c in digits):
        return token.translate(_OCR)
    return None


def normalise(label: object, abbreviations: Mapping[str, str] | None = None) -> NormalisedLabel:
    """Normalise one raw article label.

    >>> normalise("STEAK HACHE 15% MG VBF 10X1KG").key
    'steak hache'
    """
    raw = "" if label is None or (isinstance(label, float) and math.isnan(label)) else str(label)
    abbr = ABBREVIATIONS if abbreviations is None else abbreviations
    text = fold(raw)
    for pattern, repl in _PRE_RULES:
        text = pattern.sub(repl, text)
    measures: list[str] = []
    for pattern in _MEASURE_RES:
        measures.extend(m.group(0).strip() for m in pattern.finditer(text))
        text = pattern.sub(" ", text)

    tokens = []
    for tok in _TOKEN_RE.findall(text):
        fixed = tok if tok in STATE_TOKENS else _repair_ocr(tok)
        if fixed is None:
            measures.append(tok)
        else:
            tokens.append(fixed)

    quality: list[str] = []
    origin: list[str] = []
    states: list[str] = []
    dropped: list[str] = []
    words: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if i + 1 < len(tokens) and (tok, tokens[i + 1]) in PHRASES:
            kind, code = PHRASES[(tok, tokens[i + 1])]
            {"quality": quality, "origin": origin, "state": states}[kind].append(code)
            i += 2
            continue
        i += 1
        if tok in QUALITY_TOKENS:
            quality.append(QUALITY_TOKENS[tok])
        elif tok in ORIGIN_TOKENS:
            origin.append(ORIGIN_TOKENS[tok])
        elif tok == "origine":
            dropped.append(tok)
        elif tok in STATE_TOKENS:
            states.append(STATE_TOKENS[tok])
        elif tok in PACKAGING_TOKENS or tok in LEGAL_FORMS:
            dropped.append(tok)
        elif tok in abbr:
            words.extend(w for w in abbr[tok].split() if w not in STOPWORDS)
        elif tok in STOPWORDS or len(tok) < 2:
            continue
        else:
            words.append(tok)

    signals = Signals(
        quality=tuple(q for q in QUALITY_ORDER if q in quality),
        origin=tuple(dict.fromkeys(origin)),
    )
    return NormalisedLabel(
        raw=raw,
        words=tuple(words),
        stems=tuple(stem(w) for w in words),
        signals=signals,
        states=tuple(dict.fromkeys(states)),
        measures=tuple(measures),
        dropped=tuple(dropped),
    )


def extract_signals(label: object) -> Signals:
    """Quality labels (ma-cantine codes) and origins of a raw label."""
    return normalise(label).signals
