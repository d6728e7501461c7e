"""Accuracy and speed of the matching engine (run: ``python bench/bench_matching.py``).

1. The evaluation harness (``workbench.matching.evaluation.run_evaluation``) on the CIQUAL-derived
   seed nomenclature: top-1/top-5 accuracy, learning curve, throughput.
2. A 50,000-label feed drawn with realistic duplication from ~11,700 distinct supplier-style
   labels, matched against the same nomenclature by the engine and by the naive baseline
   ``process.cdist(labels, items, scorer=fuzz.token_sort_ratio,
   processor=utils.default_process, workers=-1)``, in the same run — on the same deduplicated
   input as the engine (each distinct raw label scored once, then mapped back to its lines).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process, utils

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workbench.matching.engine import CHUNK, Matcher  # noqa: E402
from workbench.matching.evaluation import (  # noqa: E402
    accuracy,
    default_nomenclature,
    feed_learning_curve,
    format_report,
    generate_variants,
    run_evaluation,
)

N_FEED = 50_000
SEED = 20240601


def main() -> None:
    nom = default_nomenclature()
    print("== Evaluation harness ==")
    print(format_report(run_evaluation(nom)))

    print()
    print("== 50k-label feed vs naive baseline ==")
    distinct = generate_variants(nom, per_item=4, seed=SEED + 1)
    rng = np.random.default_rng(SEED)
    weights = 1.0 / np.arange(1, len(distinct) + 1) ** 0.6
    weights = weights[rng.permutation(len(distinct))]
    pick = rng.choice(len(distinct), size=N_FEED, p=weights / weights.sum())
    feed = distinct.iloc[pick].reset_index(drop=True)
    labels = feed["label"].tolist()
    truth = feed["code"]
    print(
        f"{N_FEED} labels, {feed['label'].nunique()} distinct raw labels, "
        f"{len(nom)} nomenclature items"
    )

    items = nom["label"].tolist()
    t0 = time.perf_counter()
    # the same deduplicated input as the engine: each distinct raw label scored once
    unique_labels, inverse = np.unique(np.array(labels, dtype=object), return_inverse=True)
    scores = process.cdist(
        unique_labels.tolist(),
        items,
        scorer=fuzz.token_sort_ratio,
        processor=utils.default_process,
        workers=-1,
    )
    base_top1 = scores.argmax(axis=1)[inverse]
    t_base = time.perf_counter() - t0
    base_acc = float((nom["code"].to_numpy()[base_top1] == truth.to_numpy()).mean())
    del scores

    t0 = time.perf_counter()
    matcher = Matcher(nom)
    t_build = time.perf_counter() - t0
    sug = matcher.suggest(labels, k=5)
    t_engine = time.perf_counter() - t0
    acc = accuracy(sug, truth)

    print(
        f"baseline token_sort_ratio cdist (distinct labels): {t_base:.2f} s, top-1 {base_acc:.4f}"
    )
    print(
        f"engine (build {t_build:.2f} s + suggest): {t_engine:.2f} s, "
        f"top-1 {acc['top1']:.4f}, top-5 {acc['topk']:.4f}, "
        f"{N_FEED / t_engine:,.0f} labels/s"
    )
    print(f"time ratio engine/baseline: {t_engine / t_base:.2f} (target <= 2.0)")
    print("learning curve on the feed (aliases from the first share of lines, in random order):")
    for row in feed_learning_curve(matcher, feed).itertuples():
        print(
            f"  accepted {row.accepted_share:>4.0%} of lines ({row.aliases:>5} aliases): "
            f"{row.alias_hits:.1%} of the {row.remaining} remaining lines hit an alias, "
            f"top-1 {row.top1:.4f}, top-5 {row.topk:.4f}"
        )
    print(
        f"memory: cdist in uint8 chunks of {CHUNK} rows = {CHUNK * len(nom) / 1e6:.1f} MB per "
        f"chunk (baseline holds {N_FEED * len(nom) * 4 / 1e6:.0f} MB of float32 scores)"
    )


if __name__ == "__main__":
    main()
