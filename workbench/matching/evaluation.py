"""Labelled evaluation set and metrics for the matching engine (pure).

The set is generated from a nomenclature (by default the CIQUAL-derived one): each item gets
supplier-style variants, built with a seeded ``random.Random`` so the set is reproducible.
See docs/matching.md for the generator's rules.
"""

from __future__ import annotations

import random
import time
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.matching.engine import Matcher
from workbench.matching.normalise import ABBREVIATIONS, STOPWORDS, fold, normalise, stem

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SEED_PATH = DATA_DIR / "nomenclature_seed.csv"
#: CIQUAL food list: the copy shipped in workbench/data, else the shared reference copy.
CIQUAL_PATH = (
    DATA_DIR / "ciqual_foods_with_groups.csv"
    if (DATA_DIR / "ciqual_foods_with_groups.csv").exists()
    else Path("/work/shared/data/ciqual/ciqual_foods_with_groups.csv")
)

#: Full word (folded) → supplier abbreviation; multi-word keys are replaced first.
REVERSE_ABBREVIATIONS: dict[str, str] = {
    "pomme de terre": "PDT",
    "pommes de terre": "PDT",
    "haricot vert": "HV",
    "haricots verts": "HV",
    "fromage blanc": "FBL",
    "matiere grasse": "MG",
    "demi ecreme": "1/2 ECR",
    "demi-ecreme": "1/2 ECR",
}
_SINGLE = {
    "boeuf": ["BF"],
    "nature": ["NAT"],
    "fromage": ["FROM", "FROMAG"],
    "ecreme": ["ECR"],
    "tranche": ["TR"],
    "chocolat": ["CHOC"],
    "vanille": ["VAN"],
    "sauce": ["SCE"],
    "legumes": ["LEG"],
    "legume": ["LEG"],
    "volaille": ["VOL"],
    "poulet": ["POUL"],
    "cuisse": ["CUIS"],
    "escalope": ["ESC", "ESCAL"],
    "emince": ["EMINC"],
    "hache": ["HACH"],
    "jambon": ["JBN", "JAMB"],
    "dinde": ["DDE"],
    "filet": ["FLT", "FIL"],
    "saumon": ["SAUM"],
    "cabillaud": ["CAB"],
    "yaourt": ["YRT", "YAOU"],
    "petit": ["PT"],
    "petits": ["PTS"],
    "blanc": ["BLC"],
    "vert": ["VT"],
    "verts": ["VTS"],
    "rouge": ["RGE"],
    "sans": ["SS"],
    "sucre": ["SUCR"],
    "aromatise": ["AROM"],
    "tomate": ["TOM"],
    "spaghetti": ["SPAGH"],
    "mozzarella": ["MOZZA"],
    "preparation": ["PREP"],
    "compote": ["CPTE"],
    "confiture": ["CONF"],
    "champignon": ["CHAMP"],
    "champignons": ["CHAMP"],
    "concentre": ["CONC"],
    "deshydrate": ["DESHY"],
    "saucisse": ["SAUC"],
    "roti": ["RTI"],
    "entier": ["ENT"],
    "morceaux": ["MORC"],
    "pave": ["PAV"],
    "crevette": ["CREV"],
    "crevettes": ["CREV"],
    "biscuit": ["BISC"],
    "gateau": ["GAT"],
    "huile": ["HUIL"],
    "beurre": ["BEUR"],
    "doux": ["DX"],
    "saint": ["ST"],
}
assert all(fold(a) in ABBREVIATIONS for vals in _SINGLE.values() for a in vals)

MEASURES = [
    "10X1KG",
    "125G X48",
    "5KG",
    "1KG",
    "2.5KG",
    "2,5KG",
    "6X1L",
    "X60",
    "500G",
    "4/4",
    "5/1",
    "3/1",
    "1L",
    "12X125G",
    "3KG",
    "BQ 1KG",
    "SAC 10KG",
    "CT 6X2KG",
    "SEAU 5KG",
    "COLIS 10KG",
    "X 48",
    "BTE 850G",
    "PCE 180G",
    "UVC",
    "4X2.5KG",
    "15% MG",
]
SIGNALS = ["BIO", "AB", "VBF", "LR", "IGP", "AOP", "VPF", "ORIGINE FRANCE", "FR", "UE", "MSC"]
STATES = ["SURG", "SURGELE", "IQF", "CONG", "S/V", "4E GAMME", "PAD"]
BRANDS = [
    "DAUCY",
    "BONDUELLE",
    "PRESIDENT",
    "CHARAL",
    "DAVIGEL",
    "PASSION FROID",
    "PRO A PRO",
    "TRANSGOURMET",
    "SODIAL",
    "CANDIA",
    "LACTALIS",
    "HERTA",
    "PANZANI",
    "LUSTUCRU",
    "BRAKE",
    "METRO CHEF",
    "MCCAIN",
    "FINDUS",
    "BRIDOR",
    "PASQUIER",
    "SOCOPA",
    "DOUX",
    "LDC",
    "TERRE AZUR",
    "EPISAVEURS",
    "COPRAL SAS",
]
_OCR_SLIPS = {"o": "0", "i": "1", "s": "5", "l": "1"}


def _strip_accents(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


def load_ciqual(path: Path | str = CIQUAL_PATH) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str)


@dataclass
class _Ambiguity:
    """Stem sets of the nomenclature, to refuse drops that make a variant ambiguous."""

    sets: dict[frozenset[str], int]
    by_stem: dict[str, list[frozenset[str]]]

    @classmethod
    def of(cls, nomenclature: pd.DataFrame) -> _Ambiguity:
        sets: dict[frozenset[str], int] = {}
        by_stem: defaultdict[str, list[frozenset[str]]] = defaultdict(list)
        for i, lbl in enumerate(nomenclature["label"]):
            s = frozenset(normalise(lbl).stems)
            sets.setdefault(s, i)
            for st in s:
                by_stem[st].append(s)
        return cls(sets, dict(by_stem))

    def safe_to_drop(self, original: frozenset[str], kept: frozenset[str], word_stem: str) -> bool:
        """After dropping, the variant stays strictly closer (size of the symmetric difference
        of stem sets) to its own item than to any other item."""
        rest = kept - {word_stem}
        if not rest or len(rest) == len(kept):
            return False
        own_d = len(rest ^ original)
        others = {o for s in rest for o in self.by_stem.get(s, ())}
        return all(len(rest ^ o) > own_d for o in others if o != original)


def _typo(word: str, rng: random.Random) -> str:
    """A keyboard slip: a letter deleted, doubled or two letters swapped."""
    p = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:p] + word[p + 1 :]
    if kind == 1:
        return word[:p] + word[p] + word[p:]
    return word[: p - 1] + word[p] + word[p - 1] + word[p + 1 :]


def _variant(
    label: str, rng: random.Random, amb: _Ambiguity, brand_ok: list[str], hard: bool
) -> str:
    text = fold(label) if rng.random() < 0.8 else label.lower()
    text = text.replace(",", " ").replace("'", " ").replace("(", " ").replace(")", " ")
    # multi-word abbreviations
    for full, abbr in REVERSE_ABBREVIATIONS.items():
        if full in fold(text) and rng.random() < 0.6:
            text = fold(text).replace(full, abbr.lower())
    words = text.split()
    original = frozenset(normalise(label).stems)
    own = original
    # stop words often omitted
    words = [w for w in words if not (fold(w) in STOPWORDS and rng.random() < 0.6)]
    # drop non-discriminative words (never the head noun)
    if hard and len(words) > 2 and rng.random() < 0.5:
        for _ in range(1 + (rng.random() < 0.3)):
            cand = [
                i
                for i in range(1, len(words))
                if fold(words[i]) not in STOPWORDS
                and amb.safe_to_drop(original, own, stem(fold(words[i])))
            ]
            if not cand:
                break
            i = rng.choice(cand)
            own = own - {stem(fold(words[i]))}
            del words[i]
    # single-word abbreviations and truncations
    out = []
    for w in words:
        f = fold(w)
        if f in _SINGLE and rng.random() < 0.6:
            out.append(rng.choice(_SINGLE[f]).lower())
        elif hard and len(f) >= 7 and f.isalpha() and rng.random() < 0.2:
            out.append(w[: rng.randint(4, 6)])  # truncated like a fixed-width catalogue field
        elif hard and len(f) >= 6 and f.isalpha() and rng.random() < 0.08:
            out.append(_typo(w, rng))
        else:
            out.append(w)
    words = out
    # word order: head moved after its qualifier, or two words swapped
    if hard and len(words) >= 2 and rng.random() < 0.25:
        if rng.random() < 0.5:
            words = words[1:] + words[:1]
        else:
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
    # OCR slip inside one alphabetic word
    if hard and rng.random() < 0.1:
        cand = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
        if cand:
            i = rng.choice(cand)
            pos = [p for p, c in enumerate(words[i]) if c.lower() in "ois"]
            if pos:
                p = rng.choice(pos)
                w = words[i]
                words[i] = w[:p] + _OCR_SLIPS[w[p].lower()] + w[p + 1 :]
    extras: list[str] = []
    if rng.random() < 0.4:
        extras.append(rng.choice(SIGNALS))
    if rng.random() < 0.3:
        extras.append(rng.choice(STATES))
    if rng.random() < 0.3 and brand_ok:
        extras.append(rng.choice(brand_ok))
    if rng.random() < 0.75:
        extras.append(rng.choice(MEASURES))
    rng.shuffle(extras)
    result = " ".join(words + extras)
    if rng.random() < 0.85:
        result = result.upper()
    if rng.random() < 0.1:
        result = result.replace(" ", "\u00a0", 1)
    return result


def generate_variants(
    nomenclature: pd.DataFrame, per_item: int = 3, seed: int = 20240601
) -> pd.DataFrame:
    """Supplier-style variants of every nomenclature item: ``id,label,code``.

    Deterministic for a given ``seed``. Two variants in three are "hard" (dropped words,
    truncations, word order, OCR slips); all get case, accents, abbreviations, packs, brands,
    quality/origin and state tokens at random.
    """
    rng = random.Random(seed)
    amb = _Ambiguity.of(nomenclature)
    vocab = {st for s in amb.sets for st in s}
    brand_ok = [b for b in BRANDS if not any(stem(fold(w)) in vocab for w in b.split())]
    rows = []
    for code, label in zip(nomenclature["code"], nomenclature["label"], strict=True):
        for v in range(per_item):
            hard = v % 3 != 0
            rows.append((f"{code}-v{v}", _variant(str(label), rng, amb, brand_ok, hard), code))
    return pd.DataFrame(rows, columns=["id", "label", "code"])


def accuracy(suggestions: pd.DataFrame, truth: pd.Series, k: int = 5) -> dict[str, float]:
    """Top-1 and top-k accuracy of ``Matcher.suggest`` output against true codes by position."""
    n = len(truth)
    truth_arr = truth.astype(str).to_numpy()
    sug = suggestions[suggestions["rank"] <= k]
    hit = sug["code"].astype(str).to_numpy() == truth_arr[sug["input_index"].to_numpy()]
    top1 = np.zeros(n, dtype=bool)
    topk = np.zeros(n, dtype=bool)
    idx = sug["input_index"].to_numpy()
    topk[idx[hit]] = True
    first = hit & (sug["rank"].to_numpy() == 1)
    top1[idx[first]] = True
    return {"n": n, "top1": float(top1.mean()) if n else 0.0, "topk": float(topk.mean())}


def evaluate(matcher: Matcher, eval_set: pd.DataFrame, k: int = 5) -> dict[str, float]:
    """Top-1/top-k accuracy and throughput of ``matcher`` on ``eval_set`` (``label,code``)."""
    start = time.perf_counter()
    sug = matcher.suggest(eval_set["label"].tolist(), k=k)
    elapsed = time.perf_counter() - start
    res = accuracy(sug, eval_set["code"].reset_index(drop=True), k=k)
    res["seconds"] = elapsed
    res["labels_per_s"] = len(eval_set) / elapsed if elapsed else float("inf")
    return res


def learning_curve(
    matcher: Matcher,
    eval_set: pd.DataFrame,
    fractions: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5),
    seed: int = 7,
    k: int = 5,
) -> pd.DataFrame:
    """Accuracy on the remaining labels after accepting a share of decisions as label aliases.

    The same held-out half is used for every fraction so the points are comparable.
    """
    order = eval_set.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    half = len(order) // 2
    held_out = order.iloc[half:].reset_index(drop=True)
    rows = []
    for f in fractions:
        n_acc = int(round(f * len(order)))
        accepted = order.iloc[: min(n_acc, half)]
        aliases = pd.DataFrame(
            {
                "kind": "label",
                "key": [normalise(x).key for x in accepted["label"]],
                "code": accepted["code"].to_numpy(),
            }
        )
        learned = matcher.learn(accepted=aliases)
        res = evaluate(learned, held_out, k=k)
        rows.append(
            {
                "accepted_share": f,
                "aliases": len(aliases),
                "synonyms": len(learned.synonyms),
                "top1": res["top1"],
                "topk": res["topk"],
            }
        )
    return pd.DataFrame(rows)


def feed_learning_curve(
    matcher: Matcher,
    feed: pd.DataFrame,
    fractions: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5),
    seed: int = 7,
    k: int = 5,
) -> pd.DataFrame:
    """Learning on a feed with repeated labels, as a reviewer works through it: the decisions
    on the first share of the lines (in random order) become label aliases; accuracy and the
    share of alias hits are measured on the remaining lines."""
    order = feed.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    rows = []
    for f in fractions:
        n_acc = int(round(f * len(order)))
        accepted = order.iloc[:n_acc].drop_duplicates("label")
        rest = order.iloc[n_acc:].reset_index(drop=True)
        aliases = pd.DataFrame(
            {
                "kind": "label",
                "key": [normalise(x).key for x in accepted["label"]],
                "code": accepted["code"].to_numpy(),
            }
        )
        learned = matcher.learn(accepted=aliases)
        sug = learned.suggest(rest["label"].tolist(), k=k)
        res = accuracy(sug, rest["code"], k=k)
        firsts = sug[sug["rank"] == 1]
        rows.append(
            {
                "accepted_share": f,
                "aliases": len(aliases),
                "remaining": len(rest),
                "alias_hits": float((firsts["source"] != "fuzzy").sum() / max(len(rest), 1)),
                "top1": res["top1"],
                "topk": res["topk"],
            }
        )
    return pd.DataFrame(rows)


def default_nomenclature() -> pd.DataFrame:
    """The seed nomenclature shipped with the app, or built from CIQUAL when absent."""
    if SEED_PATH.exists():
        return pd.read_csv(SEED_PATH, dtype=str, keep_default_na=False)
    from workbench.matching.nomenclature import build_nomenclature

    return build_nomenclature(load_ciqual())


def run_evaluation(
    nomenclature: pd.DataFrame | None = None, per_item: int = 3, seed: int = 20240601
) -> dict[str, object]:
    """Everything the CLI and the bench print: accuracy, learning curve, throughput."""
    nom = default_nomenclature() if nomenclature is None else nomenclature
    eval_set = generate_variants(nom, per_item=per_item, seed=seed)
    item_label = dict(zip(nom["code"], nom["label"], strict=True))
    identical = np.array(
        [
            normalise(a).fingerprint == normalise(item_label[c]).fingerprint
            for a, c in zip(eval_set["label"], eval_set["code"], strict=True)
        ]
    )
    matcher = Matcher(nom)
    start = time.perf_counter()
    sug = matcher.suggest(eval_set["label"].tolist(), k=5)
    elapsed = time.perf_counter() - start
    truth = eval_set["code"].reset_index(drop=True)
    res = accuracy(sug, truth)
    hard_pos = np.flatnonzero(~identical)
    hard_sug = sug[sug["input_index"].isin(hard_pos)].copy()
    hard_sug["input_index"] = np.searchsorted(hard_pos, hard_sug["input_index"].to_numpy())
    hard = accuracy(hard_sug, truth.iloc[hard_pos].reset_index(drop=True))
    curve = learning_curve(matcher, eval_set)
    return {
        "items": len(nom),
        "labels": len(eval_set),
        "identical_after_normalisation": float(identical.mean()),
        "top1": res["top1"],
        "top5": res["topk"],
        "hard_labels": hard["n"],
        "hard_top1": hard["top1"],
        "hard_top5": hard["topk"],
        "labels_per_s": len(eval_set) / elapsed,
        "learning_curve": curve,
    }


def format_report(res: dict[str, object]) -> str:
    """Human-readable report of ``run_evaluation``."""
    curve = res["learning_curve"]
    assert isinstance(curve, pd.DataFrame)
    lines = [
        f"Evaluation set: {res['labels']} variants of {res['items']} nomenclature items "
        f"({res['identical_after_normalisation']:.1%} identical to their item after "
        "normalisation)",
        f"top-1 accuracy: {res['top1']:.4f}",
        f"top-5 accuracy: {res['top5']:.4f}",
        f"hard subset ({res['hard_labels']} labels not identical after normalisation): "
        f"top-1 {res['hard_top1']:.4f}, top-5 {res['hard_top5']:.4f}",
        f"throughput (cold matcher, distinct labels): {res['labels_per_s']:,.0f} labels/s",
        "learning curve (held-out half; aliases from the other half):",
    ]
    for row in curve.itertuples():
        lines.append(
            f"  accepted {row.accepted_share:>4.0%}: {row.aliases:>5} aliases, "
            f"{row.synonyms:>3} learned synonyms -> top-1 {row.top1:.4f}, top-5 {row.topk:.4f}"
        )
    return "\n".join(lines)
