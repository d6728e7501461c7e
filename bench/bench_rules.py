"""Benchmark: a full rule run over 1,000,000 purchase lines (+ suppliers, matrices) and
10,000 contracts, compared with the time it takes to load the same tables into pandas.

    .venv/bin/python bench/bench_rules.py [--lines 1000000] [--contracts 10000] [--database URL]

Builds a temporary SQLite database with bulk inserts of realistic generated rows (about 8 %
unmapped articles, a few label / origin / price mismatches, invalid SIRETs, outlier amounts),
then prints: load time, first run (inserting every anomaly), second run (nothing changes),
an incremental re-check of one line, and the ratios run / load (target ≤ 3).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stdnum import luhn  # noqa: E402

from workbench import create_app  # noqa: E402
from workbench.extensions import db  # noqa: E402

RNG = np.random.default_rng(20240501)
FAMILIES = [
    "VIANDES_VOLAILLES",
    "CHARCUTERIE",
    "PRODUITS_DE_LA_MER",
    "FRUITS_ET_LEGUMES",
    "PRODUITS_LAITIERS",
    "BOULANGERIE",
    "BOISSONS",
    "AUTRES",
]
WORDS = [
    "STEAK HACHE 15% MG",
    "YAOURT NAT",
    "FILET CABILLAUD",
    "PDT GT LAVEE",
    "POULET ENTIER",
    "EMMENTAL RAPE",
    "POMME GOLDEN",
    "CAROTTE RAPEE",
    "JUS ORANGE",
    "PAIN DE MIE",
    "SAUCISSE TOULOUSE",
    "LAIT DEMI ECR",
    "BEURRE DOUX",
    "HARICOT VERT",
    "RIZ LONG",
    "CREME FRAICHE",
    "OEUF ENTIER",
    "SAUMON PORTION",
    "COMPOTE POMME",
    "JAMBON BLANC",
]
PACKS = ["1KG", "10X1KG", "125G X48", "2.5KG", "6X1L", "SAC 10KG", "BQ 500G", "5/1", "X60"]


def siret(n: int) -> str:
    siren = f"{n:08d}"
    siren += luhn.calc_check_digit(siren)
    body = siren + f"{(n * 7) % 10000:04d}"
    return body + luhn.calc_check_digit(body)


def build(url: str, n_lines: int, n_contracts: int) -> None:
    engine = db.engine
    raw = engine.raw_connection()
    cur = raw.cursor()
    cur.execute(
        "INSERT INTO directions (code, name, cpv_divisions) VALUES ('DLYC', 'Direction des lycées', '15,55')"
    )
    cur.executemany(
        "INSERT INTO sites (id, uai, name, kind, direction_code) VALUES (?, ?, ?, 'lycee', 'DLYC')",
        [(i, f"{350000 + i:07d}X", f"Lycée {i}") for i in range(1, 116)],
    )
    # nomenclature
    nomenclature = pd.read_csv(
        Path(__file__).resolve().parents[1] / "workbench/data/nomenclature_seed.csv", dtype=str
    )
    active = RNG.random(len(nomenclature)) > 0.01
    cur.executemany(
        "INSERT INTO nomenclature_items (code, label, family, parent_code, is_active) VALUES (?, ?, ?, ?, ?)",
        list(
            zip(
                nomenclature["code"],
                nomenclature["label"],
                nomenclature["family"],
                nomenclature["parent_code"],
                active.astype(int).tolist(),
                strict=True,
            )
        ),
    )
    codes = nomenclature["code"].to_numpy()
    # suppliers: 2,000, of which 300 with a matrix of 60 articles
    n_suppliers = 2000
    sirets = [siret(10_000_000 + i * 37) for i in range(n_suppliers)]
    for i in RNG.choice(n_suppliers, 40, replace=False):  # typos
        sirets[i] = sirets[i][:-1] + str((int(sirets[i][-1]) + 1) % 10)
    sirets_db = [None if i % 250 == 7 else s for i, s in enumerate(sirets)]
    categories = RNG.choice(["PME", "ETI", "GE", None], n_suppliers, p=[0.7, 0.1, 0.1, 0.1])
    cur.executemany(
        "INSERT INTO suppliers (id, siret, name, company_category, is_ess, version) VALUES (?, ?, ?, ?, 0, 1)",
        [
            (i + 1, s, f"FOURNISSEUR {i} SAS", c)
            for i, (s, c) in enumerate(zip(sirets_db, categories, strict=True))
        ],
    )
    matrix_suppliers = np.arange(1, 301)
    refs_per = 60
    m_sup = np.repeat(matrix_suppliers, refs_per)
    m_ref = np.tile(np.arange(refs_per), len(matrix_suppliers))
    n_matrix = len(m_sup)
    m_label_idx = RNG.integers(0, len(WORDS), n_matrix)
    m_labels = RNG.choice(
        ["", "BIO", "LABEL_ROUGE", "AOCAOP", "HVE"], n_matrix, p=[0.6, 0.2, 0.1, 0.05, 0.05]
    )
    m_origin = RNG.choice(["FRANCE", "UE", "HORS_UE"], n_matrix, p=[0.7, 0.2, 0.1])
    m_price = np.round(RNG.uniform(0.5, 30, n_matrix), 2)
    m_code = codes[RNG.integers(0, len(codes), n_matrix)]
    cur.executemany(
        "INSERT INTO matrix_entries (id, supplier_id, reference, label, nomenclature_code, labels, origin, unit_price, unit, version)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'KG', 1)",
        [
            (
                i + 1,
                int(s),
                f"R{int(r):05d}",
                WORDS[li] + " " + PACKS[li % len(PACKS)],
                c,
                lab,
                o,
                float(p),
            )
            for i, (s, r, li, c, lab, o, p) in enumerate(
                zip(m_sup, m_ref, m_label_idx, m_code, m_labels, m_origin, m_price, strict=True)
            )
        ],
    )
    # purchase lines
    n = n_lines
    sup = np.where(
        RNG.random(n) < 0.9, RNG.choice(matrix_suppliers, n), RNG.integers(301, n_suppliers + 1, n)
    )
    ref_i = RNG.integers(0, refs_per + 3, n)  # a few references absent from the matrix
    matrix_row = np.clip((sup - 1) * refs_per + np.minimum(ref_i, refs_per - 1), 0, n_matrix - 1)
    in_matrix = (sup <= 300) & (ref_i < refs_per)
    label_idx = np.where(in_matrix, m_label_idx[matrix_row], RNG.integers(0, len(WORDS), n))
    variants = RNG.integers(0, 400, n)
    labels_txt = np.array(
        [
            f"{WORDS[li]} {PACKS[v % len(PACKS)]} V{v}"
            for li, v in zip(label_idx, variants, strict=True)
        ],
        dtype=object,
    )
    vbf = RNG.random(n) < 0.02
    labels_txt[vbf] = labels_txt[vbf] + " VBF"
    declared = np.where(in_matrix, m_labels[matrix_row], "")
    wrong_label = RNG.random(n) < 0.02
    declared = np.where(wrong_label, "BIO", declared)
    declared = np.where(vbf, "LABEL_ROUGE", declared)
    origin = np.where(in_matrix, m_origin[matrix_row], "FRANCE")
    origin = np.where(RNG.random(n) < 0.02, "UE", origin)
    quantity = RNG.integers(1, 50, n).astype(float)
    price = np.where(in_matrix, m_price[matrix_row], RNG.uniform(0.5, 30, n))
    price = np.where(RNG.random(n) < 0.01, price * 10, price)
    amount = np.round(quantity * price, 2)
    amount[RNG.random(n) < 0.001] = 0.0
    mapped = RNG.random(n) > 0.08
    line_codes = np.where(in_matrix, m_code[matrix_row], codes[RNG.integers(0, len(codes), n)])
    line_codes = np.where(mapped, line_codes, None)
    family = RNG.choice(FAMILIES, n)
    sites = RNG.integers(1, 116, n)
    days = RNG.integers(0, 365, n)
    dates = (np.datetime64("2025-01-01") + days.astype("timedelta64[D]")).astype(str)
    sirets_arr = np.array(sirets, dtype=object)
    rows = zip(
        (f"{i:040x}" for i in range(n)),
        sites.tolist(),
        dates.tolist(),
        sup.tolist(),
        sirets_arr[sup - 1].tolist(),
        [f"R{int(r):05d}" for r in ref_i],
        labels_txt.tolist(),
        quantity.tolist(),
        amount.tolist(),
        family.tolist(),
        declared.tolist(),
        origin.tolist(),
        line_codes.tolist(),
        strict=True,
    )
    cur.executemany(
        "INSERT INTO purchase_lines (line_key, site_id, line_date, supplier_id, supplier_siret, reference, label,"
        " quantity, unit, amount_ht, family, labels, origin, nomenclature_code, version)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'KG', ?, ?, ?, ?, ?, 1)",
        rows,
    )
    # contracts
    m = n_contracts
    cpv = pd.read_csv(
        Path(__file__).resolve().parents[1] / "workbench/data/cpv_2008.csv", dtype=str
    )["CODE"].to_numpy()
    c_cpv = cpv[RNG.integers(0, len(cpv), m)]
    c_cpv[RNG.random(m) < 0.005] = "99999999-9"
    c_amount = np.round(10 ** RNG.normal(5, 0.5, m), 2)
    c_amount[RNG.random(m) < 0.003] *= 10_000
    notif = np.datetime64("2024-01-01") + RNG.integers(0, 700, m).astype("timedelta64[D]")
    publ = notif + RNG.integers(1, 80, m).astype("timedelta64[D]")
    dur = RNG.choice([12, 24, 36, 48, 365], m, p=[0.4, 0.3, 0.2, 0.095, 0.005])
    cur.executemany(
        "INSERT INTO contracts (id, kind, contract_id, buyer_id, direction_code, nature, object, cpv_code, procedure,"
        " offers_received, has_advance, advance_rate, place_code, place_type, duration_months, notification_date,"
        " publication_date, amount, price_form, social_considerations, environmental_considerations, schema_errors, version)"
        " VALUES (?, 'marche', ?, '23350001600040', 'DLYC', 'Marché', ?, ?, 'Appel d''offres ouvert', ?, ?, ?, '35', 'Code département',"
        " ?, ?, ?, ?, 'Ferme', '[\"Clause sociale\"]', '[\"Pas de considération environnementale\"]', ?, 1)",
        [
            (
                i + 1,
                f"2024-{i:06d}",
                f"Marché n° {i}" + (" rÃ©novation" if i % 500 == 0 else ""),
                c,
                int(RNG.integers(0, 6)),
                int(i % 3 == 0),
                0.3 if i % 7 == 0 else None,
                int(d),
                str(nd),
                str(pd_),
                float(a),
                '[{"path": "montant", "message": "is not of type number"}]'
                if i % 1000 == 0
                else None,
            )
            for i, (c, a, nd, pd_, d) in enumerate(
                zip(c_cpv, c_amount, notif, publ, dur, strict=True)
            )
        ],
    )
    holder_rows = []
    for i in range(m):
        s = sirets[int(RNG.integers(0, n_suppliers))]
        holder_rows.append((i + 1, "holder", 0, "SIRET", s if i % 400 else s[:10]))
        if i % 5 == 0:
            holder_rows.append(
                (i + 1, "subcontractor", 0, "SIRET", sirets[int(RNG.integers(0, n_suppliers))])
            )
    cur.executemany(
        "INSERT INTO contract_holders (contract_id, role, position, id_type, identifier, version) VALUES (?, ?, ?, ?, ?, 1)",
        holder_rows,
    )
    cur.executemany(
        "INSERT INTO contract_modifications (contract_id, position, notification_date, amount) VALUES (?, 1, ?, ?)",
        [(i + 1, "2023-06-01" if i % 300 == 0 else "2026-01-15", 1000.0) for i in range(0, m, 10)],
    )
    raw.commit()
    raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--contracts", type=int, default=10_000)
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database or f"sqlite:///{tmp.name}/bench.sqlite3"
    app = create_app({"ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "bench"})
    import logging

    logging.getLogger("workbench").setLevel(logging.WARNING)
    with app.app_context():
        db.metadata.create_all(db.engine)
        t0 = time.perf_counter()
        build(url, args.lines, args.contracts)
        print(
            f"data: {args.lines:,} purchase lines, {args.contracts:,} contracts, built in {time.perf_counter() - t0:.1f}s"
        )

        from workbench.rules.frames import load_frames
        from workbench.rules.operations import _tables_for, effective_rules, run_rules

        session = db.session
        tables = _tables_for(effective_rules(session).values())
        t0 = time.perf_counter()
        frames = load_frames(session, tables)
        load = time.perf_counter() - t0
        print(f"load {', '.join(f'{k}={len(v):,}' for k, v in frames.items())}: {load:.2f}s")
        del frames
        session.rollback()

        first = run_rules(session, today=dt.date(2026, 1, 1))
        session.commit()
        print(
            f"first full run: {first.duration:.2f}s (load {first.load_seconds:.2f}s, rules {first.check_seconds:.2f}s,"
            f" write {first.write_seconds:.2f}s), {first.total('failing'):,} failing, {first.total('opened'):,} opened"
            f" → ratio {first.duration / first.load_seconds:.2f}× its own load time"
            f" ({first.duration / load:.2f}× the separate load above)"
        )
        for code, count in sorted(first.counts.items()):
            print(f"    {code:40s} {count.failing:>8,} {count.seconds:6.2f}s")
        second = run_rules(session, today=dt.date(2026, 1, 1))
        session.commit()
        print(
            f"second full run (nothing changed): {second.duration:.2f}s (load {second.load_seconds:.2f}s, rules"
            f" {second.check_seconds:.2f}s, write {second.write_seconds:.2f}s), opened {second.total('opened')},"
            f" closed {second.total('closed')} → ratio {second.duration / second.load_seconds:.2f}× its own load time"
            f" ({second.duration / load:.2f}× the separate load)"
        )
        t0 = time.perf_counter()
        one = run_rules(
            session, record_kind="purchase_line", record_ids=[12345], today=dt.date(2026, 1, 1)
        )
        session.commit()
        print(
            f"incremental re-check of one purchase line: {time.perf_counter() - t0:.3f}s ({one.total('failing')} failing)"
        )
    tmp.cleanup()


if __name__ == "__main__":
    main()
