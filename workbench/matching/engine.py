"""Pure matching engine: supplier article labels → nomenclature codes.

Only pandas, numpy, rapidfuzz and the standard library are used here, so the engine runs from
the review queues, from the CLI on plain CSV files and from tests without an application.

Pipeline (see docs/matching.md):

1. :func:`normalise` folds a raw label (case, accents, ligatures, punctuation), removes
   measures, packs, packaging, states and supplier legal forms, expands abbreviations and sets
   quality/origin tokens aside as :class:`Signals`.
2. :class:`Matcher` deduplicates normalised labels, resolves learned aliases first, then
   shortlists nomenclature items with two cheap generators (a weighted word index and a chunked
   ``uint8`` ``process.cdist``) and re-scores the shortlist with a composite word-level scorer
   that penalises unmatched words on both sides and weights the head noun.
3. :func:`cluster_labels` groups variant labels (fingerprint, n-gram fingerprint, close
   neighbours) without ever merging labels known to map to different codes.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

__all__ = [
    "Matcher",
    "NormalisedLabel",
    "Signals",
    "cluster_labels",
    "extract_signals",
    "fold",
    "normalise",
    "stem",
]

from workbench.matching.normalise import (
    WEAK_WORDS,
    NormalisedLabel,
    Signals,
    extract_signals,
    fold,
    normalise,
    stem,
)

# --------------------------------------------------------------------------------------------
# Matcher
# --------------------------------------------------------------------------------------------

HEAD_BOOST = 1.6  # weight factor of the item's first word (French head noun)
WEAK_FACTOR = 0.4  # weight factor of WEAK_WORDS
PREFIX_MIN = 3  # shortest label token tried as a prefix (truncated word / abbreviation)
FUZZY_MIN_LEN = 4  # shortest label token tried with fuzzy word matching
FUZZY_CUTOFF = 80  # fuzz.ratio cut-off for fuzzy word matches
CHAR_WEIGHT = 0.1  # share of the character-level ratio in the final score
CHUNK = 2000  # rows of each uint8 cdist chunk
_WEAK_STEMS = frozenset(stem(w) for w in WEAK_WORDS)

OUTPUT_COLUMNS = [
    "input_index",
    "rank",
    "code",
    "label",
    "family",
    "score",
    "source",
    "matched_words",
    "unmatched_words",
    "missing_words",
    "signals",
]


def _records(obj: object, columns: Sequence[str]) -> list[dict]:
    """Rows of a DataFrame, a list of dicts or a list of tuples, as dicts."""
    if obj is None:
        return []
    if isinstance(obj, pd.DataFrame):
        missing = [c for c in columns if c not in obj.columns]
        if missing:
            raise ValueError(f"missing columns: {missing}")
        return obj[list(columns)].astype(str).to_dict("records")
    rows = []
    for row in obj:  # type: ignore[attr-defined]
        if isinstance(row, Mapping):
            rows.append({c: str(row[c]) for c in columns})
        else:
            rows.append({c: str(v) for c, v in zip(columns, row, strict=True)})
    return rows


def reference_key(supplier: object, reference: object) -> str:
    """Key of a reference alias: ``supplier|reference`` (stripped, reference upper-cased)."""
    return f"{str(supplier).strip()}|{str(reference).strip().upper()}"


@dataclass
class _Index:
    """Immutable index of a nomenclature, shared by the matchers derived by ``learn``."""

    codes: np.ndarray
    labels: np.ndarray
    families: np.ndarray
    code_pos: dict[str, int]
    vocab: dict[str, int]
    vocab_sorted: list[str]
    idf: np.ndarray
    item_tokens: list[list[tuple[int, float]]]
    item_words: list[list[str]]
    item_total: np.ndarray
    item_strings: list[str]
    postings: list[tuple[np.ndarray, np.ndarray]]
    unknown_weight: float


def _build_index(nomenclature: pd.DataFrame) -> _Index:
    if "code" not in nomenclature.columns or "label" not in nomenclature.columns:
        raise ValueError("nomenclature needs columns code,label[,family]")
    nom = nomenclature.reset_index(drop=True)
    codes = nom["code"].astype(str).to_numpy()
    labels = nom["label"].astype(str).to_numpy()
    families = (
        nom["family"].fillna("").astype(str).to_numpy()
        if "family" in nom.columns
        else np.array([""] * len(nom), dtype=object)
    )
    normed = [normalise(lbl) for lbl in labels]
    vocab: dict[str, int] = {}
    df_count: Counter[int] = Counter()
    item_stem_ids: list[list[int]] = []
    item_words: list[list[str]] = []
    for n in normed:
        ids, words, seen = [], [], set()
        for w, s in zip(n.words, n.stems, strict=True):
            if s in seen:
                continue
            seen.add(s)
            ids.append(vocab.setdefault(s, len(vocab)))
            words.append(w)
        item_stem_ids.append(ids)
        item_words.append(words)
        df_count.update(ids)
    n_items = len(nom)
    inv_vocab = sorted(vocab, key=vocab.__getitem__)
    idf = np.array(
        [
            math.log(1 + n_items / df_count[i]) * (WEAK_FACTOR if s in _WEAK_STEMS else 1.0)
            for i, s in enumerate(inv_vocab)
        ]
    )
    item_tokens: list[list[tuple[int, float]]] = []
    post_items: defaultdict[int, list[int]] = defaultdict(list)
    post_weights: defaultdict[int, list[float]] = defaultdict(list)
    for j, ids in enumerate(item_stem_ids):
        toks = []
        for pos, vid in enumerate(ids):
            w = float(idf[vid]) * (HEAD_BOOST if pos == 0 else 1.0)
            toks.append((vid, w))
            post_items[vid].append(j)
            post_weights[vid].append(w)
        item_tokens.append(toks)
    postings = [
        (np.array(post_items[v], dtype=np.int64), np.array(post_weights[v], dtype=np.float64))
        for v in range(len(vocab))
    ]
    item_total = np.array([sum(w for _, w in toks) for toks in item_tokens], dtype=np.float64)
    return _Index(
        codes=codes,
        labels=labels,
        families=families,
        code_pos={c: i for i, c in enumerate(codes)},
        vocab=vocab,
        vocab_sorted=sorted(vocab),
        idf=idf,
        item_tokens=item_tokens,
        item_words=item_words,
        item_total=item_total,
        item_strings=[" ".join(sorted(set(n.stems))) for n in normed],
        postings=postings,
        unknown_weight=float(np.median(idf)) * 0.5 if len(idf) else 1.0,
    )


@dataclass
class _Scored:
    code_pos: int
    score: float
    matched: list[str]
    unmatched: list[str]
    missing: list[str]


class Matcher:
    """Suggest nomenclature codes for article labels.

    ``aliases``: accepted decisions, columns ``kind`` (``label``|``reference``), ``key``
    (``normalise(label).key``, or ``supplier|reference``), ``code``. ``rejections``: columns
    ``key`` (normalised label), ``code``. ``learn`` returns a *new* matcher (the index of the
    nomenclature is shared, never mutated), so a matcher can be cached and used concurrently.
    """

    def __init__(
        self,
        nomenclature: pd.DataFrame,
        aliases: object = None,
        rejections: object = None,
        *,
        shortlist: int = 20,
        char_shortlist: int = 8,
        _index: _Index | None = None,
    ) -> None:
        self.index = _index if _index is not None else _build_index(nomenclature)
        self.nomenclature = nomenclature
        self.shortlist = shortlist
        self.char_shortlist = char_shortlist
        self.label_aliases: dict[str, str] = {}
        self.reference_aliases: dict[str, str] = {}
        self.rejections: set[tuple[str, str]] = set()
        self.synonyms: dict[str, str] = {}
        self._match_cache: dict[str, dict[int, float]] = {}
        self._add(aliases, rejections)

    # -- learning ------------------------------------------------------------------------
    def _add(self, aliases: object, rejections: object) -> None:
        for row in _records(aliases, ("kind", "key", "code")):
            if row["kind"] == "reference":
                self.reference_aliases[row["key"]] = row["code"]
            else:
                key = normalise(row["key"]).key  # tolerate raw labels given as keys
                self.label_aliases[key] = row["code"]
        for row in _records(rejections, ("key", "code")):
            self.rejections.add((normalise(row["key"]).key, row["code"]))
        self._fingerprint_aliases = self._build_fingerprint_aliases()
        self._rejected_fp = {(normalise(k).fingerprint, c) for k, c in self.rejections}
        self.synonyms = self._learn_synonyms()
        self._match_cache = {}

    def _build_fingerprint_aliases(self) -> dict[str, str]:
        by_fp: defaultdict[str, set[str]] = defaultdict(set)
        for key, code in self.label_aliases.items():
            by_fp[normalise(key).fingerprint].add(code)
        # an ambiguous fingerprint is not an alias: prefer not merging
        return {fp: next(iter(c)) for fp, c in by_fp.items() if len(c) == 1}

    def learn(self, accepted: object = None, rejected: object = None) -> Matcher:
        """A new matcher with more aliases (``kind,key,code``) and rejections (``key,code``).

        The receiver is left unchanged; the nomenclature index is shared.
        """
        new = Matcher(
            self.nomenclature,
            shortlist=self.shortlist,
            char_shortlist=self.char_shortlist,
            _index=self.index,
        )
        new.label_aliases = dict(self.label_aliases)
        new.reference_aliases = dict(self.reference_aliases)
        new.rejections = set(self.rejections)
        new._add(accepted, rejected)
        return new

    def _learn_synonyms(self, min_support: int = 2, min_share: float = 0.6) -> dict[str, str]:
        """Label stems that, in accepted label aliases, stay unmatched while the same item word
        stays unmatched too (``pdr`` ↔ ``poudre``): learned as synonyms of that word."""
        idx = self.index
        pair_count: Counter[tuple[str, int]] = Counter()
        token_count: Counter[str] = Counter()
        for key, code in self.label_aliases.items():
            pos = idx.code_pos.get(code)
            if pos is None:
                continue
            stems = list(dict.fromkeys(normalise(key).stems))
            matches = {s: self._token_matches(s, use_synonyms=False) for s in stems}
            item_ids = [vid for vid, _ in idx.item_tokens[pos]]
            lonely = [s for s in stems if s not in idx.vocab and not matches[s]]
            missing = [v for v in item_ids if not any(v in m for m in matches.values())]
            for s in lonely:
                token_count[s] += 1
                for v in missing:
                    pair_count[(s, v)] += 1
        learned: dict[str, str] = {}
        inv = sorted(idx.vocab, key=idx.vocab.__getitem__)
        for (s, v), n in pair_count.most_common():
            if s in learned or n < min_support or n / token_count[s] < min_share:
                continue
            learned[s] = inv[v]
        return learned

    # -- word matching -------------------------------------------------------------------
    def _token_matches(self, token: str, use_synonyms: bool = True) -> dict[int, float]:
        """Vocabulary ids similar to a label stem: exact 1.0, learned synonym 0.95, prefix
        (truncated word) 0.55-0.95, fuzzy (OCR/typo) 0.72-0.9."""
        idx = self.index
        vid = idx.vocab.get(token)
        if vid is not None:
            return {vid: 1.0}
        out: dict[int, float] = {}
        if use_synonyms and token in self.synonyms and self.synonyms[token] in idx.vocab:
            out[idx.vocab[self.synonyms[token]]] = 0.95
        if len(token) >= PREFIX_MIN:
            vs = idx.vocab_sorted
            i = bisect.bisect_left(vs, token)
            while i < len(vs) and vs[i].startswith(token):
                v = idx.vocab[vs[i]]
                out[v] = max(out.get(v, 0.0), min(0.95, 0.55 + 0.4 * len(token) / len(vs[i])))
                i += 1
        if len(token) >= FUZZY_MIN_LEN:
            for word, sc, _ in process.extract(
                token, idx.vocab_sorted, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=8
            ):
                v = idx.vocab[word]
                out[v] = max(out.get(v, 0.0), 0.9 * sc / 100)
        if len(out) > 40:  # very short prefixes: keep the best
            out = dict(sorted(out.items(), key=lambda kv: -kv[1])[:40])
        return out

    def _matches(self, token: str) -> dict[int, float]:
        m = self._match_cache.get(token)
        if m is None:
            m = self._token_matches(token)
            self._match_cache[token] = m
        return m

    def _label_weights(self, stems: Sequence[str]) -> tuple[list[dict[int, float]], list[float]]:
        idf = self.index.idf
        matches = [self._matches(s) for s in stems]
        weights = [
            float(max(idf[v] * s for v, s in m.items())) if m else self.index.unknown_weight
            for m in matches
        ]
        return matches, weights

    # -- scoring -------------------------------------------------------------------------
    def _shortlist_words(
        self, matches: list[dict[int, float]], weights: list[float], n: int
    ) -> np.ndarray:
        idx = self.index
        acc = np.zeros(len(idx.codes), dtype=np.float64)
        for m, wt in zip(matches, weights, strict=True):
            if not m:
                continue
            best = np.zeros_like(acc)
            for v, s in m.items():
                items, w = idx.postings[v]
                best[items] = np.maximum(best[items], s * (wt + w))
            acc += best
        hits = np.flatnonzero(acc)
        if len(hits) <= n:
            return hits
        sc = acc[hits] / (sum(weights) + idx.item_total[hits])
        return hits[np.argpartition(-sc, n)[:n]]

    def _rescore(
        self,
        norm: NormalisedLabel,
        stems: list[str],
        matches: list[dict[int, float]],
        weights: list[float],
        candidates: Iterable[int],
        label_string: str,
    ) -> list[_Scored]:
        idx = self.index
        words = list(dict.fromkeys(norm.words))
        total_l = sum(weights)
        out = []
        for j in candidates:
            toks = idx.item_tokens[j]
            pairs = []
            for a, m in enumerate(matches):
                if not m:
                    continue
                for b, (v, w) in enumerate(toks):
                    s = m.get(v)
                    if s:
                        pairs.append((s * (weights[a] + w), a, b))
            pairs.sort(reverse=True)
            used_a: set[int] = set()
            used_b: set[int] = set()
            got = 0.0
            for val, a, b in pairs:
                if a in used_a or b in used_b:
                    continue
                used_a.add(a)
                used_b.add(b)
                got += val
            denom = total_l + idx.item_total[j]
            composite = 100.0 * got / denom if denom else 0.0
            char = fuzz.ratio(label_string, idx.item_strings[j])
            score = (1 - CHAR_WEIGHT) * composite + CHAR_WEIGHT * char
            iw = idx.item_words[j]
            out.append(
                _Scored(
                    code_pos=j,
                    score=round(float(score), 2),
                    matched=[words[a] for a in sorted(used_a)],
                    unmatched=[words[a] for a in range(len(words)) if a not in used_a],
                    missing=[iw[b] for b in range(len(iw)) if b not in used_b],
                )
            )
        out.sort(key=lambda r: (-r.score, idx.item_total[r.code_pos], idx.codes[r.code_pos]))
        return out

    def _char_shortlists(self, strings: list[str]) -> np.ndarray:
        """Top ``char_shortlist`` items per label by character ratio on sorted stems, computed
        with ``process.cdist`` in uint8 chunks (memory: CHUNK × n_items bytes)."""
        idx = self.index
        n = min(self.char_shortlist, len(idx.codes))
        out = np.zeros((len(strings), n), dtype=np.int64)
        if n == 0:
            return out
        for start in range(0, len(strings), CHUNK):
            block = process.cdist(
                strings[start : start + CHUNK],
                idx.item_strings,
                scorer=fuzz.ratio,
                dtype=np.uint8,
                workers=-1,
            )
            if n < block.shape[1]:
                out[start : start + len(block)] = np.argpartition(-block.astype(np.int16), n, 1)[
                    :, :n
                ]
            else:
                out[start : start + len(block)] = np.arange(n)
        return out

    def score_pair(self, label: str, code: str) -> float:
        """Composite score of one label against one nomenclature code (0-100)."""
        norm = normalise(label)
        stems = list(dict.fromkeys(norm.stems))
        matches, weights = self._label_weights(stems)
        res = self._rescore(
            norm, stems, matches, weights, [self.index.code_pos[code]], " ".join(sorted(stems))
        )
        return res[0].score

    # -- public API ----------------------------------------------------------------------
    def suggest(
        self,
        labels: Iterable[object],
        k: int = 5,
        suppliers: Iterable[object] | None = None,
        references: Iterable[object] | None = None,
    ) -> pd.DataFrame:
        """Top-``k`` suggestions per label, one row per suggestion (see OUTPUT_COLUMNS).

        Aliases come first (score 100, source ``alias_reference`` or ``alias_label``), then
        fuzzy suggestions; rejected (label, code) pairs are never offered.
        """
        idx = self.index
        labels = ["" if x is None else x for x in labels]
        n_in = len(labels)
        sup = list(suppliers) if suppliers is not None else [None] * n_in
        ref = list(references) if references is not None else [None] * n_in
        raw_to_norm: dict[object, NormalisedLabel] = {}
        for raw in labels:
            if raw not in raw_to_norm:
                raw_to_norm[raw] = normalise(raw)
        norms = [raw_to_norm[r] for r in labels]

        # distinct normalised keys → fuzzy results
        keys = list(dict.fromkeys(n.key for n in norms))
        key_norm = {n.key: n for n in norms}
        stems_l = [list(dict.fromkeys(key_norm[kk].stems)) for kk in keys]
        strings = [" ".join(sorted(s)) for s in stems_l]
        char_top = self._char_shortlists(strings)
        fuzzy: dict[str, list[_Scored]] = {}
        for i, key in enumerate(keys):
            if not stems_l[i]:
                fuzzy[key] = []
                continue
            matches, weights = self._label_weights(stems_l[i])
            cands = set(self._shortlist_words(matches, weights, self.shortlist).tolist())
            cands.update(char_top[i].tolist())
            scored = self._rescore(key_norm[key], stems_l[i], matches, weights, cands, strings[i])
            fp = key_norm[key].fingerprint
            fuzzy[key] = [
                r
                for r in scored
                if (key, idx.codes[r.code_pos]) not in self.rejections
                and (fp, idx.codes[r.code_pos]) not in self._rejected_fp
            ][: k + 1]

        rows: list[tuple] = []
        for i, norm in enumerate(norms):
            alias_code, source = None, "fuzzy"
            if ref[i] is not None and str(ref[i]).strip() and str(ref[i]) != "nan":
                alias_code = self.reference_aliases.get(reference_key(sup[i] or "", ref[i]))
                source = "alias_reference"
            if alias_code is None:
                alias_code = self.label_aliases.get(norm.key) or self._fingerprint_aliases.get(
                    norm.fingerprint
                )
                source = "alias_label"
            if alias_code is not None and (norm.key, alias_code) in self.rejections:
                alias_code = None
            sig = str(norm.signals)
            rank = 0
            if alias_code is not None:
                pos = idx.code_pos.get(alias_code)
                rank = 1
                rows.append(
                    (
                        i,
                        rank,
                        alias_code,
                        idx.labels[pos] if pos is not None else "",
                        idx.families[pos] if pos is not None else "",
                        100.0,
                        source,
                        " ".join(norm.words),
                        "",
                        "",
                        sig,
                    )
                )
            for r in fuzzy[norm.key]:
                if rank >= k:
                    break
                code = idx.codes[r.code_pos]
                if code == alias_code:
                    continue
                rank += 1
                rows.append(
                    (
                        i,
                        rank,
                        code,
                        idx.labels[r.code_pos],
                        idx.families[r.code_pos],
                        r.score,
                        "fuzzy",
                        " ".join(r.matched),
                        " ".join(r.unmatched),
                        " ".join(r.missing),
                        sig,
                    )
                )
        out = pd.DataFrame.from_records(rows, columns=OUTPUT_COLUMNS)
        out["score"] = out["score"].astype(float)
        out["input_index"] = out["input_index"].astype(np.int64)
        out["rank"] = out["rank"].astype(np.int64)
        return out


# --------------------------------------------------------------------------------------------
# Clustering
# --------------------------------------------------------------------------------------------


def ngram_fingerprint(text: str, n: int = 2) -> str:
    """OpenRefine n-gram fingerprint of a normalised text (sorted unique character n-grams)."""
    s = "".join(text.split())
    return "".join(sorted({s[i : i + n] for i in range(max(len(s) - n + 1, 1))}))


class _Clusters:
    """Union-find that refuses to join two groups known to map to different codes."""

    def __init__(self, codes: list[str | None]) -> None:
        self.parent = list(range(len(codes)))
        self.code = list(codes)

    def find(self, a: int) -> int:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        ca, cb = self.code[ra], self.code[rb]
        if ca is not None and cb is not None and ca != cb:
            return False
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.code[ra] = ca if ca is not None else cb
        return True


def _words_close(a: Sequence[str], b: Sequence[str], cutoff: float = 80) -> bool:
    """Every word of each side has a close word on the other side."""
    return all(max(fuzz.ratio(x, y) for y in b) >= cutoff for x in a) and all(
        max(fuzz.ratio(y, x) for x in a) >= cutoff for y in b
    )


def cluster_labels(
    labels: Iterable[object],
    aliases: object = None,
    radius: float = 90,
) -> pd.DataFrame:
    """Cluster variant labels so one decision serves a cluster.

    Keys: OpenRefine fingerprint (sorted unique stems), then the character 2-gram fingerprint,
    then nearest neighbours whose sorted-stem strings score ≥ ``radius`` (``fuzz.ratio``) and
    whose words pair up. Labels whose alias keys (``kind='label'``) map to different codes are
    never merged. Returns ``input_index, cluster_id, key`` (``key`` = the label's fingerprint).
    """
    labels = list(labels)
    alias_code: dict[str, str] = {}
    for row in _records(aliases, ("kind", "key", "code")):
        if row["kind"] == "label":
            alias_code[normalise(row["key"]).key] = row["code"]
    norms = [normalise(x) for x in labels]

    # nodes: (fingerprint, code) — a fingerprint shared by labels with different codes splits
    fp_codes: defaultdict[str, set[str]] = defaultdict(set)
    for n in norms:
        if n.key in alias_code:
            fp_codes[n.fingerprint].add(alias_code[n.key])
    node_of: dict[tuple[str, str | None], int] = {}
    node_codes: list[str | None] = []
    node_fp: list[str] = []
    label_node = []
    for n in norms:
        code = alias_code.get(n.key)
        if code is None and len(fp_codes[n.fingerprint]) == 1:
            code = next(iter(fp_codes[n.fingerprint]))
        nk = (n.fingerprint, code)
        if nk not in node_of:
            node_of[nk] = len(node_codes)
            node_codes.append(code)
            node_fp.append(n.fingerprint)
        label_node.append(node_of[nk])
    uf = _Clusters(node_codes)

    by_ngram: defaultdict[str, list[int]] = defaultdict(list)
    for i, fp in enumerate(node_fp):
        if fp:
            by_ngram[ngram_fingerprint(fp)].append(i)
    for group in by_ngram.values():
        for other in group[1:]:
            if _words_close(node_fp[group[0]].split(), node_fp[other].split()):
                uf.union(group[0], other)

    non_empty = [i for i, fp in enumerate(node_fp) if fp]
    strings = [node_fp[i] for i in non_empty]
    for start in range(0, len(strings), CHUNK):
        block = process.cdist(
            strings[start : start + CHUNK],
            strings,
            scorer=fuzz.ratio,
            dtype=np.uint8,
            score_cutoff=radius,
            workers=-1,
        )
        rows_, cols_ = np.nonzero(block)
        for r, c in zip(rows_.tolist(), cols_.tolist(), strict=True):
            a, b = non_empty[start + r], non_empty[c]
            if a < b and _words_close(node_fp[a].split(), node_fp[b].split()):
                uf.union(a, b)

    root_id: dict[int, int] = {}
    cluster_ids = []
    for node in label_node:
        root = uf.find(node)
        cluster_ids.append(root_id.setdefault(root, len(root_id)))
    return pd.DataFrame(
        {
            "input_index": np.arange(len(labels), dtype=np.int64),
            "cluster_id": np.array(cluster_ids, dtype=np.int64),
            "key": [n.fingerprint for n in norms],
        }
    )
