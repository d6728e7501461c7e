"""``anomaly_texts``: every combination of texts a search reads, kept by triggers.

Whatever writes the anomalies (one row, a bulk statement, a raw connection, a rule run's paused
bulk writes), the stored combinations hold every anomaly's; a rebuild trims them to exactly
those; a text longer than an index entry is stored too (PostgreSQL indexes its ``md5``).
"""

from __future__ import annotations

import random
import string
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.exports.test_roundtrip import cli  # noqa: F401 - fixture
from tests.rules.test_group_counts import _raw_anomaly, _shapes
from workbench.audit import guard
from workbench.extensions import db
from workbench.rules import counts, search_texts
from workbench.rules.models import Anomaly, AnomalyText


def _covered(session: Any) -> None:
    session.flush()
    assert search_texts.actual(session) <= search_texts.stored(session)


def test_every_write_adds_its_combination(session, make) -> None:  # type: ignore[no-untyped-def]
    made = _shapes(make)
    _covered(session)
    stored = search_texts.stored(session)
    message = "Anomalie MATRIX_ARTICLE_ABSENT"
    assert ("MATRIX_ARTICLE_ABSENT", "ref:1|A", "ref:1|A", "", message) in stored
    # NULL and empty texts are one (a search matches neither)
    assert ("MATRIX_ARTICLE_ABSENT", "", "", "", message) in stored
    steps: list[tuple[int, dict[str, Any]]] = [
        (0, {"message": "Référence inconnue"}),
        (2, {"value": "V2"}),
        (3, {"group_key": None, "value": "V9"}),
        (8, {"rule_code": "MATRIX_PRICE_GAP"}),
        (9, {"supplier_id": None}),
        (1, {"status": "dismissed", "dismiss_reason": "other"}),
    ]
    for index, values in steps:
        for name, value in values.items():
            setattr(made[index], name, value)
        _covered(session)
    ids = [a.id for a in made]
    session.execute(
        sa.update(Anomaly).where(Anomaly.id.in_(ids[::2])).values(message="Lot modifié"),
        execution_options={"synchronize_session": False},
    )
    _covered(session)
    assert ("MATRIX_ARTICLE_ABSENT", "ref:1|A", "ref:1|A", "", "Lot modifié") in (
        search_texts.stored(session)
    )
    # a deletion keeps its combination (a superset) until a rebuild trims it
    session.execute(sa.delete(Anomaly).where(Anomaly.id.in_(ids[:5])))
    _covered(session)
    assert search_texts.actual(session) < search_texts.stored(session)
    search_texts.rebuild(session)
    assert search_texts.actual(session) == search_texts.stored(session)


def test_a_raw_writer_adds_its_combinations_too(session) -> None:  # type: ignore[no-untyped-def]
    connection = session.connection()
    anomaly_id = _raw_anomaly(connection, record_id=-7, message="Écrit sans l'ORM")
    assert ("MATRIX_LABEL_MISMATCH", "TÉMOIN@", "", "TÉMOIN", "Écrit sans l'ORM") in (
        search_texts.stored(session)
    )
    table = Anomaly.__table__
    connection.execute(
        sa.update(table).where(table.c.id == anomaly_id).values(message="Changé sans l'ORM")
    )
    _covered(session)


def test_a_bulk_write_with_paused_triggers_adds_its_combinations(
    session, make, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A rule run's bulk writes on SQLite pause the row triggers: the combinations of the rows
    written come from one statement after (on PostgreSQL the statement triggers run)."""
    monkeypatch.setattr(counts, "BULK_ROWS", 0)
    made = _shapes(make)
    session.flush()
    connection = session.connection()
    with counts.counted_in_bulk(session, [made[0].id], rows=2):
        table = Anomaly.__table__
        connection.execute(
            sa.update(table).where(table.c.id == made[0].id).values(message="Pendant la pause")
        )
        _raw_anomaly(connection, record_id=-8, message="Inséré pendant la pause")
    _covered(session)
    messages = {c[4] for c in search_texts.stored(session)}
    assert {"Pendant la pause", "Inséré pendant la pause"} <= messages


def test_a_text_longer_than_an_index_entry_is_stored(session) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL refuses a b-tree entry above 2,704 bytes: the unique index holds the texts'
    ``md5``, so a long incompressible message (a DECP object quoted whole) is stored."""
    rng = random.Random(11)
    long_text = "".join(rng.choice(string.ascii_letters + "éàç ") for _ in range(12_000))
    _raw_anomaly(session.connection(), record_id=-9, message=long_text, value=long_text[:200])
    assert long_text in {c[4] for c in search_texts.stored(session)}
    _covered(session)


def test_matched_groups_tell_whole_from_partial(session, make) -> None:  # type: ignore[no-untyped-def]
    """A group all of whose combinations match is whole; one with some, partial; the others
    are not listed; a rule without any match is not among the matching rules."""
    site = make.site()
    supplier = make.supplier()
    rule = "MATRIX_LABEL_MISMATCH"
    for i, message in enumerate(["Label BIO absent", "Label BIO absent", "Label AOP absent"]):
        line = make.purchase_line(site, supplier=supplier)
        make.anomaly(line, rule, group_key="ref:1|A" if i < 2 else "ref:1|B", message=message)
    line = make.purchase_line(site, supplier=supplier)
    make.anomaly(line, rule, group_key="ref:1|B", message="Label BIO absent")
    line = make.purchase_line(site, supplier=supplier)
    make.anomaly(line, "MATRIX_PRICE_GAP", value="1,20", supplier_id=supplier.id, message="Prix")
    session.flush()
    found = {
        (r.rule_code, r.key): bool(r.whole)
        for r in session.execute(search_texts.matched_groups([rule, "MATRIX_PRICE_GAP"], "%bio%"))
    }
    assert found == {(rule, "ref:1|A"): True, (rule, "ref:1|B"): False}
    codes = [rule, "MATRIX_PRICE_GAP", "MATRIX_ORIGIN_MISMATCH"]
    assert search_texts.matching_rules(session, codes, "%bio%") == [rule]
    assert search_texts.matching_rules(session, codes, "%1,2%") == ["MATRIX_PRICE_GAP"]


def test_the_rebuild_command_trims_the_texts_and_recounts(session, make, cli) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    made = _shapes(make)
    session.execute(sa.delete(Anomaly).where(Anomaly.id.in_([a.id for a in made[:4]])))
    session.execute(sa.text("DELETE FROM anomaly_counts"))  # a load that bypassed the triggers
    session.flush()
    assert search_texts.actual(session) < search_texts.stored(session)
    session.info[guard.AUDITED] = True  # the factories journal nothing
    output = cli("rules", "rebuild-counts")
    assert "Comptes des anomalies recalculés" in output
    assert search_texts.actual(session) == search_texts.stored(session)
    assert counts.stored_counts(session) == {key: n for key, n in _recounted(session).items() if n}


def _recounted(session: Any) -> dict[tuple, int]:
    connection = session.connection()
    connection.exec_driver_sql("DELETE FROM anomaly_counts")
    connection.exec_driver_sql(counts.rebuild_counts_sql())
    return counts.stored_counts(session)


def test_two_writers_of_one_new_combination_store_it_once(app) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL: the second writer waits for the first's uncommitted row of the same
    combination, then adds nothing; the combinations of one statement are added in one order
    (two writers of the same two never hold one each)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer")
        message = "Combinaison écrite par deux transactions"
        first, second = Session(db.engine), Session(db.engine)
        ids: list[int] = []
        try:
            ids.append(_raw_anomaly(first.connection(), record_id=-21, message=message))
            done = threading.Event()

            def run_second() -> None:
                ids.append(_raw_anomaly(second.connection(), record_id=-22, message=message))
                second.commit()
                done.set()

            thread = threading.Thread(target=run_second)
            thread.start()
            assert not done.wait(0.5)  # waits on the first's row of the combination
            first.commit()
            thread.join(10)
            assert done.is_set()
        finally:
            first.close()
            second.close()
        with Session(db.engine) as reader:
            found = reader.scalar(sa.select(sa.func.count()).where(AnomalyText.message == message))
            reader.execute(sa.delete(Anomaly).where(Anomaly.id.in_(ids)))
            reader.execute(sa.delete(AnomalyText).where(AnomalyText.message == message))
            reader.info[guard.AUDITED] = True
            reader.commit()
        assert found == 1


def test_a_group_turned_partial_between_the_views_statements_still_shows(app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL reads each statement of the grouped view afresh: a group found matched whole
    by the first, which another transaction's commit turns partial before the second, is read
    still (from its stored row), not lost between the two lists."""
    from workbench.auth.models import Role, User
    from workbench.review import groups as groups_module
    from workbench.review.groups import grouped_queue
    from workbench.review.queries import QueueFilter

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite reads the view in one snapshot")
        ids: list[int] = []
        with db.engine.connect() as other:
            ids.append(_raw_anomaly(other, record_id=-31, message="Label BIO absent"))
            other.commit()
        searched = groups_module._searched

        def then_a_commit(*args, **kwargs):  # type: ignore[no-untyped-def]
            found = searched(*args, **kwargs)
            with db.engine.connect() as other:
                ids.append(_raw_anomaly(other, record_id=-32, message="Autre label absent"))
                other.commit()
            return found

        monkeypatch.setattr(groups_module, "_searched", then_a_commit)
        admin = User(email="x@region.example", name="x", role=Role.ADMIN)
        try:
            with Session(db.engine) as reader:
                found, _ = grouped_queue(reader, admin, "matrix", QueueFilter(search="bio"))
                keys = {(g.rule_code, g.key) for g in found}
                assert ("MATRIX_LABEL_MISMATCH", "TÉMOIN@") in keys
        finally:
            with Session(db.engine) as cleanup:
                cleanup.execute(sa.delete(Anomaly).where(Anomaly.id.in_(ids)))
                cleanup.execute(sa.delete(AnomalyText).where(AnomalyText.value == "TÉMOIN"))
                cleanup.info[guard.AUDITED] = True
                cleanup.commit()


def test_a_search_of_the_texts_matches_as_their_three_columns_do(session) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL a search reads ``haystack`` (the three texts joined and folded once): it
    matches exactly the combinations a search of the three columns does, whatever the case or
    the accents, and no search spans two texts (the separator is taken out of a search)."""
    from workbench.db import like_ci
    from workbench.review.queries import search_pattern

    texts = [
        ("ref:1|YAOURT", "", "Article « Yaourt nature » sans code"),
        ("", "ÉCLAIR Café", "Prix différent"),
        ("", "1,20", "Lait demi-écrémé BIO"),
        ("ref:2|QX", "ZW", "Origine FRANCE"),
        (None, None, "Poulet fermier Label Rouge"),
    ]
    for i, (group_key, value, message) in enumerate(texts):
        _raw_anomaly(
            session.connection(),
            record_id=-100 - i,
            group_key=group_key,
            value=value,
            message=message,
        )
    t = AnomalyText

    def found(clause: Any) -> set[tuple[str, str, str]]:
        rows = session.execute(
            sa.select(t.group_key, t.value, t.message).where(
                t.rule_code == "MATRIX_LABEL_MISMATCH", clause
            )
        )
        return {tuple(r) for r in rows}  # type: ignore[misc]

    for search in (
        "yaourt",
        "YAOURT",
        "Éclair",
        "éclair",
        "café",
        "1,2",
        "bio",
        "ref:",
        "a",
        "|a",
        "label rouge",
        "FRANCE",
        "zzz",
        "%",
        "_",
        "X\x1fZ",
        "\x1f",
        "yaourt nature",
    ):
        pattern = search_pattern(search)
        three = sa.or_(
            like_ci(t.group_key, pattern), like_ci(t.value, pattern), like_ci(t.message, pattern)
        )
        assert found(search_texts._matches(pattern)) == found(three), search
    assert found(search_texts._matches(search_pattern("yaourt")))
    # « X » ends one text and « Z » begins the next: no search spans them
    assert not found(search_texts._matches(search_pattern("X\x1fZ")))
    assert not found(search_texts._matches(search_pattern("XZ")))


def test_a_searched_statement_is_compiled_once_whatever_the_search() -> None:
    """The search predicates carry their pattern as a bound value: two searches make one cache
    key (one compilation), with each its own pattern bound."""
    from workbench.review.queries import QueueFilter, filter_clauses

    def statement(search: str) -> sa.Select:
        codes = ["ARTICLE_UNMAPPED"]
        return (
            sa.select(search_texts.matched_groups(codes, f"%{search}%").subquery())
            .where(*filter_clauses(QueueFilter(search=search)))
            .union_all(search_texts.hit_groups(codes, f"%{search}%"))
        )

    first, second = (
        statement("yaourt")._generate_cache_key(),
        statement("ref")._generate_cache_key(),
    )
    assert first is not None and first == second
    assert "%ref%" in [p.value for p in second.bindparams]
    assert "%yaourt%" not in [p.value for p in second.bindparams]
