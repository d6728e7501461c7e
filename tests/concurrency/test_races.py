"""Races over HTTP: simultaneous decisions, corrections, claims and logins (real threads)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from tests.concurrency.conftest import journal, logged_in, race
from workbench.demo import factories
from workbench.extensions import db
from workbench.records.models import PurchaseLine
from workbench.reference.models import NomenclatureItem
from workbench.review.models import Correction
from workbench.rules.models import Anomaly

DECISIONS = ("correction.approved", "correction.rejected")


def _tag() -> str:
    return uuid.uuid4().hex[:8]


def _world(session, tag: str) -> dict:
    site = factories.make_site(session)
    canteen = factories.make_user(session, f"cantine-{tag}@test.example", "canteen", sites=[site])
    legal = [
        factories.make_user(session, f"juriste{i}-{tag}@test.example", "legal") for i in (1, 2)
    ]
    for code in ("RACE-A", "RACE-B") + tuple(f"RACE-{i}" for i in range(10)):
        if (
            session.scalar(sa.select(NomenclatureItem.id).where(NomenclatureItem.code == code))
            is None
        ):
            factories.make_nomenclature_item(session, code=code)
    line = factories.make_purchase_line(session, site, label=f"YAOURT {tag}", labels="BIO")
    return {
        "site_id": site.id,
        "canteen": canteen.email,
        "legal": [u.email for u in legal],
        "line_id": line.id,
    }


def test_twenty_racing_decisions_leave_one_decision_and_one_journal_entry(race_app, seed):
    tag = _tag()
    world = seed(lambda s: _world(s, tag))

    def propose(session):
        from workbench.auth.models import User
        from workbench.review import operations

        user = session.scalar(sa.select(User).where(User.email == world["canteen"]))
        return operations.propose_correction(
            session, user, "purchase_line", world["line_id"], "labels", "", "pas bio (facture)"
        ).id

    correction_id = seed(propose)
    clients = [logged_in(race_app, world["legal"][i % 2]) for i in range(20)]

    def decide(i: int):  # half approve, half reject: the two outcomes race too
        data = {"decision": "approve" if i % 2 else "reject", "comment": f"décision {i}"}
        return lambda: clients[i].post_form(f"/corrections/{correction_id}/decider", data)

    responses = race([decide(i) for i in range(20)])
    assert all(not isinstance(r, BaseException) for r in responses), responses
    assert [r.status_code for r in responses] == [302] * 20
    entries = [
        e
        for e in journal(race_app, target_kind="purchase_line", target_id=str(world["line_id"]))
        if (e.after or {}).get("correction_id") == correction_id
    ]
    decisions = [e for e in entries if e.action in DECISIONS]
    assert len(decisions) == 1, [e.action for e in entries]
    applied = [e for e in entries if e.action == "correction.applied"]
    assert len(applied) == (1 if decisions[0].action == "correction.approved" else 0)
    assert not [e for e in entries if e.action == "correction.conflict"]
    with race_app.app_context():
        correction = db.session.get(Correction, correction_id)
        line = db.session.get(PurchaseLine, world["line_id"])
        if decisions[0].action == "correction.approved":
            assert (correction.status, line.labels, line.version) == ("applied", "", 2)
        else:
            assert (correction.status, line.labels, line.version) == ("rejected", "BIO", 1)
    # the losers were told, in French
    html = clients[0].get("/a-valider").get_data(as_text=True) + "".join(
        c.get("/a-valider").get_data(as_text=True) for c in clients[1:]
    )
    assert html.count("déjà été traitée") == 19


def test_ten_racing_corrections_from_one_version_have_exactly_one_winner(race_app, seed):
    tag = _tag()
    world = seed(lambda s: _world(s, tag))
    clients = [logged_in(race_app, world["canteen"]) for _ in range(10)]
    url = f"/dossiers/purchase_line/{world['line_id']}/corriger"

    def correct(i: int):
        data = {
            "field": "nomenclature_code",
            "value": f"RACE-{i}",
            "reason": f"article {i}",
            "base_version": "1",
        }
        return lambda: clients[i].post_form(url, data)

    responses = race([correct(i) for i in range(10)])
    assert [getattr(r, "status_code", r) for r in responses] == [302] * 10
    applied = journal(
        race_app,
        action="correction.applied",
        target_kind="purchase_line",
        target_id=str(world["line_id"]),
    )
    assert len(applied) == 1
    with race_app.app_context():
        line = db.session.get(PurchaseLine, world["line_id"])
        corrections = db.session.scalars(
            sa.select(Correction).where(Correction.record_id == line.id)
        ).all()
        assert line.version == 2
        assert [c.new_value for c in corrections] == [line.nomenclature_code]
        assert applied[0].after["new_value"] == line.nomenclature_code


def test_ten_racing_claims_of_one_anomaly_have_one_winner(race_app, seed):
    tag = _tag()

    def build(session):
        world = _world(session, tag)
        line = session.get(PurchaseLine, world["line_id"])
        world["anomaly_id"] = factories.make_anomaly(session, line, "LABEL_X", "labels").id
        return world

    world = seed(build)
    clients = [logged_in(race_app, world["canteen"]) for _ in range(10)]
    url = f"/anomalies/{world['anomaly_id']}/prendre"
    responses = race([lambda c=c: c.post_form(url) for c in clients])
    assert [getattr(r, "status_code", r) for r in responses] == [302] * 10
    claimed = journal(
        race_app,
        action="anomaly.claimed",
        target_kind="anomaly",
        target_id=str(world["anomaly_id"]),
    )
    assert len(claimed) == 1
    with race_app.app_context():
        assert db.session.get(Anomaly, world["anomaly_id"]).status == "claimed"


def test_twelve_simultaneous_logins_never_answer_5xx(race_app, seed):
    tag = _tag()
    emails = seed(
        lambda s: [
            factories.make_user(s, f"login{i}-{tag}@test.example", "viewer").email
            for i in range(12)
        ]
    )
    clients = [race_app.test_client() for _ in emails]
    for client in clients:
        client.fetch_token()
    responses = race(
        [
            lambda c=c, e=e: c.post_form("/connexion", {"email": e, "password": "motdepasse-test"})
            for c, e in zip(clients, emails, strict=True)
        ]
    )
    assert [getattr(r, "status_code", r) for r in responses] == [302] * 12
    from workbench.auth import bookkeeping

    assert bookkeeping.drain(30)
    logins = journal(race_app, action="auth.login", target_label=emails)
    assert sorted(e.target_label for e in logins) == sorted(emails)


def test_a_login_succeeds_while_a_long_write_holds_the_database(race_app, seed, backend):
    """The bookkeeping waits; the login does not: its journal entry is written afterwards."""
    tag = _tag()
    email = seed(lambda s: factories.make_user(s, f"patient-{tag}@test.example", "viewer").email)
    client = race_app.test_client()
    client.fetch_token()
    holding, release = threading.Event(), threading.Event()

    def long_writer() -> None:  # an import, say: holds the writer lock (SQLite) / journal chain
        with race_app.app_context(), db.engine.connect() as conn:
            if backend == "sqlite":
                conn.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE (outside a request)
            else:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7240315)"))
                conn.execute(
                    sa.text("SELECT id FROM users WHERE email = :e FOR UPDATE"), {"e": email}
                )
            holding.set()
            release.wait(30)
            conn.rollback()

    writer = threading.Thread(target=long_writer)
    writer.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        response = client.post_form("/connexion", {"email": email, "password": "motdepasse-test"})
        elapsed = time.monotonic() - started
        assert response.status_code == 302, response.status_code
        assert elapsed < 8, elapsed
        assert client.get("/").status_code == 200  # reading works during the long write
        assert not journal(race_app, action="auth.login", target_label=email)
    finally:
        release.set()
        writer.join(30)
    from workbench.auth import bookkeeping

    assert bookkeeping.drain(30)
    (entry,) = journal(race_app, action="auth.login", target_label=email)
    assert entry.after["written_late"] is True and entry.after["attempted_at"]


def _map_world(session, tag: str, policy: str | None) -> dict:
    from workbench.rules.models import RuleSetting

    site = factories.make_site(session)
    users = [
        factories.make_user(session, f"map{i}-{tag}@test.example", "canteen", sites=[site])
        for i in range(2)
    ]
    code = f"MAP-{tag}"
    factories.make_nomenclature_item(session, code=code)
    reference = f"R-{tag}"
    lines = [
        factories.make_purchase_line(session, site, label=f"YAOURT {tag}", reference=reference)
        for _ in range(4)
    ]
    setting = session.get(RuleSetting, "ARTICLE_UNMAPPED")
    if setting is None:
        setting = RuleSetting(rule_code="ARTICLE_UNMAPPED", params={})
        session.add(setting)
    setting.approval_policy = policy
    session.flush()
    return {
        "user_ids": [u.id for u in users],
        "group": f"ref:|{reference}",
        "code": code,
        "line_ids": [line.id for line in lines],
    }


@pytest.mark.parametrize("policy", [None, "approval"])
def test_ten_racing_group_mappings_map_or_propose_each_line_once(race_app, seed, policy):
    from workbench.auth.models import User
    from workbench.core.errors import ValidationError
    from workbench.matching import operations as matching

    tag = _tag()
    world = seed(lambda s: _map_world(s, tag, policy))

    def map_once(i: int):
        def run():
            with race_app.app_context():
                user = db.session.get(User, world["user_ids"][i % 2])
                try:
                    matching.map_group(db.session, user, world["group"], world["code"])
                except ValidationError as error:
                    db.session.rollback()
                    return error.message
                db.session.commit()
                return "ok"

        return run

    results = race([map_once(i) for i in range(10)])
    assert results.count("ok") == 1, results
    assert all(r == "ok" or "Aucune ligne" in r for r in results), results
    action = "match.group_proposed" if policy else "match.group_mapped"
    assert len(journal(race_app, action=action, target_id=world["group"])) == 1
    with race_app.app_context():
        corrections = db.session.scalars(
            sa.select(Correction.record_id).where(Correction.record_id.in_(world["line_ids"]))
        ).all()
        assert sorted(corrections) == sorted(world["line_ids"])  # one correction per line
    seed(lambda s: _map_world(s, _tag(), None))  # leave the shared rule setting as found


def test_a_write_stuck_behind_a_long_write_gets_a_french_503_not_a_500(
    race_app, seed, backend, monkeypatch
):
    if backend != "sqlite":
        pytest.skip("SQLite's busy timeout (PostgreSQL waits for the row lock)")
    import workbench.db

    tag = _tag()

    def build(session):
        world = _world(session, tag)
        line = session.get(PurchaseLine, world["line_id"])
        world["anomaly_id"] = factories.make_anomaly(session, line, "LABEL_X", "labels").id
        return world

    world = seed(build)
    client = logged_in(race_app, world["canteen"])
    monkeypatch.setattr(workbench.db, "BUSY_TIMEOUT_MS", 300)
    with race_app.app_context(), db.engine.connect() as long_write:
        long_write.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: holds the writer lock
        response = client.post_form(f"/anomalies/{world['anomaly_id']}/prendre")
        long_write.rollback()
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert "Réessayez dans un instant" in response.get_data(as_text=True)
    assert client.post_form(f"/anomalies/{world['anomaly_id']}/prendre").status_code == 302


def _propose_labels(world: dict, count: int):  # type: ignore[no-untyped-def]
    """``count`` pending label corrections on as many lines of the world's lycée."""

    def build(session):  # type: ignore[no-untyped-def]
        from workbench.auth.models import User
        from workbench.reference.models import Site
        from workbench.review import operations

        user = session.scalar(sa.select(User).where(User.email == world["canteen"]))
        site = session.get(Site, world["site_id"])
        ids = []
        for i in range(count):
            line = factories.make_purchase_line(session, site, label=f"LAIT {i}", labels="BIO")
            ids.append(
                operations.propose_correction(
                    session, user, "purchase_line", line.id, "labels", "", "facture"
                ).id
            )
        return ids

    return build


def test_racing_batch_and_single_decisions_decide_each_proposal_once(race_app, seed):
    tag = _tag()
    world = seed(lambda s: _world(s, tag))
    ids = seed(_propose_labels(world, 5))
    clients = [logged_in(race_app, world["legal"][i % 2]) for i in range(10)]

    def call(i: int):
        client = clients[i]
        if i < 4:  # four batch decisions over the whole selection
            data = {"decision": "approve", "comment": "", "ids": [str(c) for c in ids]}
            return lambda: client.post_form("/a-valider/groupe", data)
        data = {"decision": "reject", "comment": "non"}  # six single ones
        return lambda: client.post_form(f"/corrections/{ids[i % 5]}/decider", data)

    responses = race([call(i) for i in range(10)])
    assert [getattr(r, "status_code", r) for r in responses] == [302] * 10
    decided = journal(race_app, action=list(DECISIONS))
    per_correction = [sum(1 for e in decided if e.after.get("correction_id") == cid) for cid in ids]
    assert per_correction == [1] * 5
    with race_app.app_context():
        statuses = db.session.scalars(sa.select(Correction.status).where(Correction.id.in_(ids)))
        assert set(statuses) <= {"applied", "rejected"}


def test_ten_racing_reverts_of_one_correction_make_one_revert(race_app, seed):
    tag = _tag()
    world = seed(lambda s: _world(s, tag))

    def apply(session):  # type: ignore[no-untyped-def]
        from workbench.auth.models import User
        from workbench.review import operations

        user = session.scalar(sa.select(User).where(User.email == world["canteen"]))
        return operations.propose_correction(
            session, user, "purchase_line", world["line_id"], "nomenclature_code", "RACE-A", "m"
        ).id

    correction_id = seed(apply)
    clients = [logged_in(race_app, world["canteen"]) for _ in range(10)]
    url = f"/corrections/{correction_id}/annuler"
    responses = race([lambda c=c: c.post_form(url, {"reason": "mauvais article"}) for c in clients])
    assert [getattr(r, "status_code", r) for r in responses] == [302] * 10
    with race_app.app_context():
        reverts = db.session.scalars(
            sa.select(Correction).where(Correction.reverts_id == correction_id)
        ).all()
        assert len(reverts) == 1 and reverts[0].status == "applied"
        assert db.session.get(Correction, correction_id).status == "reverted"
        assert db.session.get(PurchaseLine, world["line_id"]).nomenclature_code is None
