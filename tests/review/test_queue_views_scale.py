"""The grouped view and the sorted line views at scale: pages of groups and of sorted rows are
the ones a full in-memory sort gives, scoped to the user's lycées, read from the covering
partial indexes ``ix_anomalies_cover_*``."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from workbench.review import groups as groups_module
from workbench.review import queries
from workbench.review.groups import grouped_queue
from workbench.review.labels import field_sort_key, rule_sort_key
from workbench.review.queries import (
    FIELD_KEY,
    FIELD_SORTS,
    SEGMENT_VALUES,
    SORT_COLUMNS,
    QueueFilter,
    queue_page,
)
from workbench.rules import group_counts
from workbench.rules.models import ACTIVE_STATUSES, Anomaly

STORED = groups_module._stored_groups


@pytest.fixture(
    autouse=True, params=["index-ranges", "one-group-by", "maintained-dirty", "maintained-settled"]
)
def small_rule(request, monkeypatch):  # type: ignore[no-untyped-def]
    """Every test four times: the anomalies grouped, each rule walking its own index ranges or
    every rule in one GROUP BY; the maintained groups (``anomaly_group_counts``) read as the
    writing transaction sees them (the groups its changes dirtied computed from their
    anomalies), or settled first (as after a commit)."""
    if request.param.startswith("maintained"):
        if request.param.endswith("settled"):

            def settled(session, *args, **kwargs):  # type: ignore[no-untyped-def]
                group_counts.settle(session)
                return STORED(session, *args, **kwargs)

            monkeypatch.setattr(groups_module, "_stored_groups", settled)
        return request.param
    monkeypatch.setattr(groups_module, "_stored_groups", lambda *a, **k: None)
    monkeypatch.setattr(
        groups_module, "SMALL_RULE", 0 if request.param == "index-ranges" else 10**9
    )
    return request.param


def _matrix_groups(make, site, supplier, prefix: str, sizes: list[int]):  # type: ignore[no-untyped-def]
    """Groups of MATRIX_LABEL_MISMATCH on one site, group ``i`` of ``sizes[i]`` anomalies, its
    anomalies ``days`` old (older groups first); plus lone MATRIX_ARTICLE_ABSENT anomalies keyed
    by value and supplier (no group_key), NULL and empty group keys mixed."""
    made = []
    for i, size in enumerate(sizes):
        for j in range(size):
            line = make.purchase_line(site, supplier=supplier, reference=f"{prefix}{i}")
            made.append(
                make.anomaly(
                    line,
                    "MATRIX_LABEL_MISMATCH",
                    field="labels",
                    value="BIO" if j % 2 else "AOP",
                    supplier_id=supplier.id,
                    group_key=f"ref:{supplier.siret}|{prefix}{i}",
                    days_old=30 - i,
                    severity="warning" if j else "blocking",
                )
            )
    for j in range(3):
        line = make.purchase_line(site, supplier=supplier, reference=f"{prefix}Z")
        made.append(
            make.anomaly(
                line,
                "MATRIX_ARTICLE_ABSENT",
                field="reference",
                value=f"{prefix}Z",
                supplier_id=supplier.id,
                group_key=None if j % 2 else "",
                days_old=5,
            )
        )
    return made


def _expected(anomalies: list[Anomaly], sort: str) -> list[tuple[str, str, int]]:
    """The groups as the former one-statement GROUP BY ordered them, computed in Python."""
    found: dict[tuple[str, str], dict] = {}
    for a in anomalies:
        if a.status not in ACTIVE_STATUSES:
            continue
        rule, key = groups_module.group_token(a).split("|", 1)
        g = found.setdefault((rule, key), {"n": 0, "oldest": a.first_seen_at, "newest": None})
        g["n"] += 1
        g["oldest"] = min(g["oldest"], a.first_seen_at)
        g["newest"] = max(g["newest"] or a.first_seen_at, a.first_seen_at)
    keys = {
        "nombre": lambda item: (-item[1]["n"], item[1]["oldest"], item[0]),
        "anciens": lambda item: (item[1]["oldest"], -item[1]["n"], item[0]),
        "regle": lambda item: (item[0][0], -item[1]["n"], item[0]),
    }
    ordered = sorted(found.items(), key=keys[sort])
    return [(rule, key, g["n"]) for (rule, key), g in ordered]


def test_group_pages_are_the_full_sort_cut_in_pages(session, make) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    admin = make.user(role="admin")
    supplier = make.supplier(name="Laiterie de l'Ouest")
    anomalies = _matrix_groups(make, site, supplier, "YA-", [1, 4, 2, 5, 3, 2, 1])
    for sort in ("nombre", "anciens", "regle"):
        expected = _expected(anomalies, sort)
        assert len(expected) == 8  # 7 article groups + the value@supplier group (NULL and '')
        seen = []
        for page in (1, 2, 3):
            found, total = grouped_queue(
                session, admin, "matrix", QueueFilter(), sort=sort, page=page, per_page=3
            )
            assert total == 8, (sort, page)
            seen += [(g.rule_code, g.key, g.count) for g in found]
        assert seen == expected, sort
    # a page past the end is empty and still knows the total
    found, total = grouped_queue(session, admin, "matrix", QueueFilter(), page=9, per_page=3)
    assert found == [] and total == 8
    # the value@supplier group gathers its NULL and empty group_key anomalies, decorated
    absent = next(
        g
        for g in grouped_queue(session, admin, "matrix", QueueFilter(), per_page=50)[0]
        if g.rule_code == "MATRIX_ARTICLE_ABSENT"
    )
    assert (absent.count, absent.key) == (3, f"YA-Z@{supplier.id}")
    assert absent.supplier_name == "Laiterie de l'Ouest" and absent.sample_label


def test_group_page_two_of_a_canteen_holds_its_lycee_only(session, make) -> None:  # type: ignore[no-untyped-def]
    site, other = make.site(), make.site()
    supplier = make.supplier()
    mine = _matrix_groups(make, site, supplier, "YA-", [2, 3, 1, 4])
    # the other lycée buys the same articles, more often: it must change nothing here
    theirs = _matrix_groups(make, other, supplier, "YA-", [6, 6, 6, 6])
    _matrix_groups(make, other, supplier, "ZZ-", [7, 7])
    canteen = make.user(role="canteen", sites=[site])
    expected = _expected(mine, "nombre")
    seen = []
    for page in (1, 2):
        found, total = grouped_queue(
            session, canteen, "matrix", QueueFilter(), page=page, per_page=3
        )
        assert total == len(expected) == 5
        seen += [(g.rule_code, g.key, g.count) for g in found]
    assert seen == expected
    assert not any(
        g.key.endswith(("|ZZ-0", "|ZZ-1"))
        for g in grouped_queue(session, canteen, "matrix", QueueFilter(), per_page=50)[0]
    )
    # a forged lycée filter finds nothing; the admin filtered on the other lycée sees it
    assert grouped_queue(session, canteen, "matrix", QueueFilter(site_id=other.id)) == ([], 0)
    admin = make.user(role="admin")
    found, total = grouped_queue(
        session, admin, "matrix", QueueFilter(site_id=other.id), per_page=50
    )
    assert total == 8 and sum(g.count for g in found) == len(theirs) + 17
    # a canteen of both lycées sees both, merged per article
    both = make.user(role="canteen", sites=[site, other])
    found, _ = grouped_queue(session, both, "matrix", QueueFilter(), per_page=50)
    ya0 = next(g for g in found if g.key.endswith("|YA-0"))
    assert ya0.count == 2 + 6


def test_group_filters_and_closed_anomalies(session, make) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    admin = make.user(role="admin")
    supplier = make.supplier()
    anomalies = _matrix_groups(make, site, supplier, "YA-", [3, 2])
    anomalies[0].status = "dismissed"
    anomalies[0].dismiss_reason = "other"
    session.flush()
    found, total = grouped_queue(session, admin, "matrix", QueueFilter(), per_page=50)
    assert total == 3
    assert {(g.key.rsplit("|", 1)[-1], g.count) for g in found} == {
        ("YA-0", 2),
        ("YA-1", 2),
        (f"YA-Z@{supplier.id}", 3),
    }
    blocking, total = grouped_queue(session, admin, "matrix", QueueFilter(severity="blocking"))
    # the dismissed one was YA-0's blocking anomaly: only YA-1's remains
    assert total == 1 and blocking[0].key.endswith("|YA-1") and blocking[0].count == 1
    dismissed, total = grouped_queue(session, admin, "matrix", QueueFilter(status="dismissed"))
    assert total == 1 and dismissed[0].count == 1


def _line_order(anomalies: list[Anomaly], sort: str, dialect: str) -> list[int]:
    column = SORT_COLUMNS[sort.lstrip("-")].key
    desc = sort.startswith("-")
    active = [a for a in anomalies if a.status in ACTIVE_STATUSES]

    def value(a: Anomaly):  # type: ignore[no-untyped-def]
        return getattr(a, column)

    key = sort.lstrip("-")
    if key in SEGMENT_VALUES:  # by rank, ties by rule, age and id ascending
        rank = SEGMENT_VALUES[key].index
        ordered = sorted(active, key=lambda a: (a.rule_code, a.first_seen_at, a.id))
        ordered.sort(key=lambda a: rank(value(a)), reverse=desc)  # stable
        return [a.id for a in ordered]
    if key in FIELD_SORTS:  # every term in one direction, NULLs as the database sorts them
        terms = FIELD_SORTS[key]
        nulls = dialect == "sqlite"  # NULL first ascending on SQLite, last on PostgreSQL

        def term(a: Anomaly):  # type: ignore[no-untyped-def]
            return tuple(
                ((getattr(a, t) is not None) == nulls, getattr(a, t) or "")
                if t == "value"
                else field_sort_key(a.record_kind, a.field)
                if t == FIELD_KEY
                else getattr(a, t)
                for t in terms
            )

        return [a.id for a in sorted(active, key=term, reverse=desc)]
    if column == "rule_code":  # by title, ties by age, then id, in the same direction
        ordered = sorted(
            active, key=lambda a: (rule_sort_key(a.rule_code), a.first_seen_at, a.id), reverse=desc
        )
        return [a.id for a in ordered]
    # NULLs sort first ascending on SQLite, last ascending on PostgreSQL
    nulls_low = dialect == "sqlite"
    present = sorted((a for a in active if value(a) is not None), key=lambda a: a.id)
    present.sort(key=value, reverse=desc)  # stable: ties stay by id ascending
    missing = sorted((a for a in active if value(a) is None), key=lambda a: a.id)
    low_first = nulls_low != desc
    return [a.id for a in (missing + present if low_first else present + missing)]


def test_sorted_line_pages_follow_the_full_sort_and_the_scope(session, make) -> None:  # type: ignore[no-untyped-def]
    site, other = make.site(), make.site()
    supplier = make.supplier()
    mine = _matrix_groups(make, site, supplier, "YA-", [3, 2, 4])
    _matrix_groups(make, other, supplier, "YA-", [5, 5])
    mine.append(
        make.anomaly(make.purchase_line(site), "MATRIX_PRICE_GAP", field="amount_ht", value=None)
    )
    canteen = make.user(role="canteen", sites=[site])
    dialect = session.get_bind().dialect.name
    for sort in ("regle", "-regle", "-gravite", "etat", "champ", "valeur", "-valeur"):
        expected = _line_order(mine, sort, dialect)
        seen = []
        for page in (1, 2, 3, 4):
            rows, total = queue_page(session, canteen, "matrix", QueueFilter(), page, 4, sort=sort)
            assert total == len(expected) == 13
            seen += [a.id for a in rows]
        assert seen == expected, sort


def test_sqlite_reads_groups_and_sorts_from_the_covering_indexes(
    session, make, small_rule, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    if session.get_bind().dialect.name != "sqlite" or small_rule != "index-ranges":
        return
    session.execute(sa.text("PRAGMA analysis_limit = 400"))
    session.execute(sa.text("ANALYZE anomalies"))
    admin = make.user(role="admin")
    canteen = make.user(role="canteen", sites=[make.site()])
    codes = len(queries.queue_rule_codes("matrix"))

    def plan_of(user):  # type: ignore[no-untyped-def]
        found = groups_module._groups(session, user, "matrix", QueueFilter())
        sql = str(
            sa.select(found).compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        )
        plan = [r[3] for r in session.execute(sa.text("EXPLAIN QUERY PLAN " + sql))]
        return plan, [s for s in plan if s.startswith(("SEARCH anomalies", "SCAN anomalies"))]

    # region-wide and unfiltered: the maintained groups, no anomaly read
    monkeypatch.setattr(groups_module, "_stored_groups", STORED)
    plan, reads = plan_of(admin)
    assert not reads and any("anomaly_group_counts" in step for step in plan), plan
    monkeypatch.setattr(groups_module, "_stored_groups", lambda *a, **k: None)
    for user, index in ((admin, "ix_anomalies_cover_rule"), (canteen, "ix_anomalies_cover_site")):
        # no anomaly has a group key or lacks a value: one range per rule code, no merge
        plan, reads = plan_of(user)
        assert len(reads) == codes, plan
        assert all(f"COVERING INDEX {index}" in step and "value>?" in step for step in reads)
    monkeypatch.setattr(groups_module, "_only_value_groups", lambda *a, **k: False)
    for user, index in ((admin, "ix_anomalies_cover_rule"), (canteen, "ix_anomalies_cover_site")):
        plan, reads = plan_of(user)
        # per rule code, four ranges: keyed by article and by value (grouped in index
        # order), the NULL-valued and the empty group_key ones
        assert len(reads) == 4 * codes, plan
        assert all(f"COVERING INDEX {index}" in step for step in reads), plan
        assert sum("group_key>?" in step for step in reads) == codes, plan
        assert sum("value>?" in step for step in reads) == codes, plan
        assert plan.count("USE TEMP B-TREE FOR GROUP BY") <= 2 * codes + 1, plan
    # a sorted line view reads its keys from the covering index too
    filt = QueueFilter()
    stmt = (
        sa.select(Anomaly.id)
        .where(Anomaly.rule_code.in_(["MATRIX_PRICE_GAP"]), *queries.filter_clauses(filt))
        .order_by(Anomaly.severity, Anomaly.id)
        .limit(50)
    )
    sql = str(stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    plan = " ".join(str(r) for r in session.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))
    assert "COVERING INDEX ix_anomalies_cover_rule" in plan, plan


def test_a_group_key_shaped_like_a_value_key_joins_that_group(session, make) -> None:  # type: ignore[no-untyped-def]
    """The key is one string: a ``group_key`` spelling « value@supplier » or a supplier id is
    the same group as the anomalies keyed that way (as with the one-statement GROUP BY)."""
    site = make.site()
    admin = make.user(role="admin")
    supplier = make.supplier()
    lines = [make.purchase_line(site, supplier=supplier) for _ in range(6)]
    spelled = f"V1@{supplier.id}"
    make.anomaly(lines[0], "MATRIX_ARTICLE_ABSENT", value="V1", supplier_id=supplier.id)
    make.anomaly(lines[1], "MATRIX_ARTICLE_ABSENT", group_key=spelled)
    make.anomaly(lines[2], "MATRIX_ARTICLE_ABSENT", supplier_id=supplier.id)
    make.anomaly(lines[3], "MATRIX_ARTICLE_ABSENT", group_key=str(supplier.id))
    make.anomaly(lines[4], "MATRIX_ARTICLE_ABSENT", group_key="ref:1|A")
    make.anomaly(lines[5], "MATRIX_ARTICLE_ABSENT", value="", supplier_id=supplier.id)
    found, total = grouped_queue(session, admin, "matrix", QueueFilter(), per_page=50)
    assert total == 3
    assert {g.key: g.count for g in found} == {spelled: 2, str(supplier.id): 3, "ref:1|A": 1}


def _value_groups(make, site, supplier, sizes: list[int]) -> list[Anomaly]:  # type: ignore[no-untyped-def]
    """MATRIX_LABEL_MISMATCH anomalies with a value and no group key: group ``i`` of
    ``sizes[i]`` anomalies of value ``V{i}`` at ``supplier`` (the matrix queue's shape)."""
    made = []
    for i, size in enumerate(sizes):
        for _ in range(size):
            line = make.purchase_line(site, supplier=supplier, reference=f"R{i}")
            made.append(
                make.anomaly(
                    line,
                    "MATRIX_LABEL_MISMATCH",
                    field="labels",
                    value=f"V{i}",
                    supplier_id=supplier.id,
                    group_key=None,
                    days_old=20 - i,
                )
            )
    return made


def test_value_groups_only_need_no_merge_and_are_the_same(session, make, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    admin = make.user(role="admin")
    supplier = make.supplier()
    anomalies = _value_groups(make, site, supplier, [2, 5, 1, 3])
    chosen: list[bool] = []
    only = groups_module._only_value_groups

    def spied(*args, **kwargs):  # type: ignore[no-untyped-def]
        chosen.append(only(*args, **kwargs))
        return chosen[-1]

    monkeypatch.setattr(groups_module, "_only_value_groups", spied)

    def pages(sort: str) -> list[tuple[str, str, int]]:
        seen = []
        for page in (1, 2):
            found, total = grouped_queue(
                session, admin, "matrix", QueueFilter(), sort=sort, page=page, per_page=2
            )
            assert total == 4
            seen += [(g.rule_code, g.key, g.count) for g in found]
        return seen

    for sort in ("nombre", "anciens", "regle"):
        assert pages(sort) == _expected(anomalies, sort), sort
    if groups_module.SMALL_RULE == 0:  # the rule walks its own ranges: the no-merge statement
        assert chosen and all(chosen)
    # one anomaly with an empty group key: the parts may share keys, merged as before
    chosen.clear()
    line = make.purchase_line(site, supplier=supplier, reference="R0")
    anomalies.append(
        make.anomaly(
            line, "MATRIX_LABEL_MISMATCH", field="labels", value="V0", supplier_id=supplier.id,
            group_key="", days_old=3,
        )
    )  # fmt: skip
    found, total = grouped_queue(session, admin, "matrix", QueueFilter(), per_page=50)
    assert total == 4  # V0@supplier gathers its empty-key anomaly
    assert next(g.count for g in found if g.key == f"V0@{supplier.id}") == 3
    if groups_module.SMALL_RULE == 0:
        assert chosen == [False]


def test_a_search_finds_the_message_key_or_value_in_both_views(session, make) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    admin = make.user(role="admin")
    supplier = make.supplier()
    anomalies = _value_groups(make, site, supplier, [2, 1])
    target = anomalies[-1]
    target.message = "Label déclaré : Zéphyr Quartz absent de la matrice"
    session.flush()
    for text, expected in (("zéphyr QUARTZ", {target.id}), ("v1", {target.id}), ("nulpart", set())):
        filt = QueueFilter(search=text)
        groups, total = grouped_queue(session, admin, "matrix", filt, per_page=50)
        assert sum(g.count for g in groups) == len(expected) and total == len(expected), text
        rows, _ = queue_page(session, admin, "matrix", filt, 1, 50)
        assert {a.id for a in rows} == expected, text
    where = queries.filter_clauses(QueueFilter(search="x"))[-1]
    sql = str(sa.select(Anomaly.id).where(where).compile(session.get_bind()))
    if session.get_bind().dialect.name == "sqlite":  # the message looked up by id
        assert "EXISTS (SELECT" in sql and "searched.message LIKE" in sql, sql
    else:
        assert "lower(anomalies.message) LIKE" in sql and "EXISTS" not in sql, sql


def test_a_percent_or_underscore_typed_in_a_search_is_that_character(session, make) -> None:  # type: ignore[no-untyped-def]
    site = make.site()
    admin = make.user(role="admin")
    supplier = make.supplier()
    anomalies = _value_groups(make, site, supplier, [1, 1, 1])
    anomalies[0].message = "Écart de prix de 50% avec la matrice"
    anomalies[1].message = "Écart de prix de 50 € avec la matrice"
    anomalies[2].message = "Code REF_A inconnu"
    session.flush()
    for text, expected in (
        ("50%", {anomalies[0].id}),
        ("REF_A", {anomalies[2].id}),
        ("REF_", {anomalies[2].id}),
        ("de _0", set()),  # « _ » is not « any character »
        ("%", {anomalies[0].id}),
        ("\\", set()),  # a lone backslash is a character too (no pattern error)
    ):
        filt = QueueFilter(search=text)
        rows, _ = queue_page(session, admin, "matrix", filt, 1, 50)
        assert {a.id for a in rows} == expected, text
        groups, total = grouped_queue(session, admin, "matrix", filt, per_page=50)
        assert sum(g.count for g in groups) == len(expected), text


def _searched(anomaly: Anomaly, text: str) -> bool:
    texts = (anomaly.group_key, anomaly.value, anomaly.message)
    return any(text.lower() in (t or "").lower() for t in texts)


@pytest.mark.parametrize("few", [200, 0], ids=["groups-in-part-read", "anomalies-grouped"])
def test_a_search_groups_the_matching_anomalies(session, make, monkeypatch, few) -> None:  # type: ignore[no-untyped-def]
    """Groups the search matches whole (their key, or every value and message), in part (some
    values or messages), or not at all, with a dirty group among them and a severity filter:
    the groups of the matching anomalies. Above ``FEW_DIRTY`` groups matched in part, the
    anomalies are grouped instead."""
    monkeypatch.setattr(group_counts, "FEW_DIRTY", few)
    site = make.site()
    admin = make.user(role="admin")
    supplier = make.supplier()
    anomalies = _matrix_groups(make, site, supplier, "YA-", [4, 3, 2])
    anomalies[1].message = "Label BIO absent de la matrice"
    # a group matched in part in a rule of one severity, beside one of several (one flat union)
    anomalies[-1].message = "Référence absente, label BIO"
    anomalies[2].status = "dismissed"  # a dirty group until the commit
    anomalies[2].dismiss_reason = "other"
    session.flush()
    for text in ("YA-0", "BIO", "bio", "YA-Z", "absent", "Anomalie", "nulle part", "ref:"):
        for severity in (None, "warning"):
            kept = [a for a in anomalies if _searched(a, text) and severity in (None, a.severity)]
            filt = QueueFilter(search=text, severity=severity)
            found, total = grouped_queue(session, admin, "matrix", filt, per_page=50)
            expected = _expected(kept, "nombre")
            assert [(g.rule_code, g.key, g.count) for g in found] == expected, (text, severity)
            assert total == len(expected), (text, severity)
            rows, _ = queue_page(session, admin, "matrix", filt, 1, 50)
            active = {a.id for a in kept if a.status in ACTIVE_STATUSES}
            assert {a.id for a in rows} == active, (text, severity)


def test_a_search_reads_only_the_rules_whose_texts_match(session, make) -> None:  # type: ignore[no-untyped-def]
    """Region-wide, the rules none of whose texts match are not read; a lycée's view reads
    its few index ranges instead (the texts would cost it more)."""
    site = make.site()
    supplier = make.supplier()
    _matrix_groups(make, site, supplier, "YA-", [2])
    admin = make.user(role="admin")
    canteen = make.user(role="canteen", sites=[site])

    def codes(user, text):  # type: ignore[no-untyped-def]
        return queries.view_rule_codes(session, user, "matrix", QueueFilter(search=text))

    assert codes(admin, "YA-0") == ["MATRIX_LABEL_MISMATCH"]
    assert codes(admin, "YA-Z") == ["MATRIX_ARTICLE_ABSENT"]
    assert codes(admin, "nulle part") == []
    assert set(codes(admin, "YA-")) == {"MATRIX_LABEL_MISMATCH", "MATRIX_ARTICLE_ABSENT"}
    assert codes(canteen, "nulle part") == queries.queue_rule_codes("matrix")
