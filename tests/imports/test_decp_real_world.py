"""Real-world DECP shapes: each hand-built file in tests/data/decp/ reproduces what buyers publish
(placeholders, flattened keys, nested and malformed holders, modifications, versioned CSV rows,
republications, 1.5 beside v2); the records and the anomalies they raise are pinned."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.imports.test_reference_and_contracts import DECP, DECP_FILES
from workbench.audit.models import AuditEntry
from workbench.imports import decp
from workbench.imports.operations import import_file
from workbench.imports.parsing import Report
from workbench.records.models import Contract, ContractModification
from workbench.rules.models import Anomaly
from workbench.rules.operations import run_rules

DATA = Path(__file__).resolve().parents[1] / "data" / "decp"
TODAY = dt.date(2026, 6, 1)


def _contract(session, contract_id: str) -> Contract:  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(Contract).where(Contract.contract_id == contract_id))


def _anomalies(session, contract: Contract) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return set(
        session.execute(
            sa.select(Anomaly.rule_code, Anomaly.field).where(
                Anomaly.record_id == contract.id,
                Anomaly.record_kind == "contract",
                Anomaly.status == "open",
            )
        ).all()
    )


def _open_counts(session) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return dict(
        session.execute(
            sa.select(Anomaly.rule_code, sa.func.count())
            .where(Anomaly.status == "open")
            .group_by(Anomaly.rule_code)
        ).all()
    )


# -- every shared example -----------------------------------------------------------------------
#: file → (records read, contracts imported, open anomalies per rule once the rules have run)
SHARED = {
    "decp-table-exemple-valide.csv": (2, 1, {"HOLDER_UNKNOWN": 2}),
    # the Millau concession: 540 months after its modifications, beyond 360
    "cc-avec-modifications.json": (
        1,
        1,
        {"CONTRACT_DURATION_SUSPICIOUS": 2, "HOLDER_UNKNOWN": 1},
    ),
    "cc-basique.json": (1, 1, {"HOLDER_UNKNOWN": 1}),
    "mar-avec-modifications.json": (1, 1, {"CONTRACT_SIRET_INVALID": 1, "HOLDER_UNKNOWN": 1}),
    "mar-basique.json": (1, 1, {"HOLDER_UNKNOWN": 1}),
    "paquet.json": (2, 2, {"HOLDER_UNKNOWN": 2}),
    "concessions.json": (
        2,
        2,
        {
            "CONTRACT_AMOUNT_SUSPICIOUS": 2,
            "CONTRACT_DATES_ORDER": 2,
            "CONTRACT_SIRET_INVALID": 2,
            "HOLDER_UNKNOWN": 4,
        },
    ),
    "concessions_avec_modifications.json": (
        2,
        2,
        {
            "CONTRACT_AMOUNT_SUSPICIOUS": 2,
            "CONTRACT_DATES_ORDER": 4,
            "CONTRACT_MODIFICATION_AMOUNT": 2,
            "CONTRACT_SIRET_INVALID": 2,
            "HOLDER_UNKNOWN": 4,
        },
    ),
    "marches_avec_modifications.json": (
        2,
        2,
        {
            "CONTRACT_ADVANCE_INCONSISTENT": 2,
            "CONTRACT_DATES_ORDER": 4,
            "CONTRACT_MODIFICATION_AMOUNT": 2,
            "CONTRACT_SIRET_INVALID": 3,
            "HOLDER_UNKNOWN": 2,
            "ID_TYPE_MISMATCH": 2,
        },
    ),
    "marches_concessions.json": (
        4,
        4,
        {
            "CONTRACT_ADVANCE_INCONSISTENT": 2,
            "CONTRACT_AMOUNT_SUSPICIOUS": 2,
            "CONTRACT_DATES_ORDER": 8,
            "CONTRACT_MODIFICATION_AMOUNT": 4,
            "CONTRACT_SIRET_INVALID": 5,
            "HOLDER_UNKNOWN": 6,
            "ID_TYPE_MISMATCH": 2,
        },
    ),
}


def test_every_shared_file_is_pinned() -> None:
    assert sorted(p.name for p in DECP_FILES) == sorted(SHARED)


@pytest.mark.parametrize("path", DECP_FILES, ids=lambda p: p.name)
def test_each_shared_example_imports_whole_with_its_pinned_anomalies(session, path) -> None:  # type: ignore[no-untyped-def]
    read, imported, anomalies = SHARED[path.name]
    result = import_file(session, "contracts", str(path))
    assert result.status == "applied", result.report.problems
    assert (result.row_count, result.counts.inserted) == (read, imported)
    assert result.report.error_count == result.report.warning_count == 0
    run_rules(session, today=TODAY)
    assert _open_counts(session) == anomalies
    # no DECP 1.5 or CSV record is missing a field that only exists since v2
    assert "CONTRACT_FIELD_MISSING" not in anomalies


def test_the_15_digit_holder_of_an_official_v2_modification_is_flagged(session) -> None:  # type: ignore[no-untyped-def]
    import_file(session, "contracts", str(DECP / "v2/exemples/marches_avec_modifications.json"))
    run_rules(session, today=TODAY)
    contract = _contract(session, "TEST2022")
    anomaly = session.scalar(
        sa.select(Anomaly).where(
            Anomaly.record_id == contract.id,
            Anomaly.rule_code == "CONTRACT_SIRET_INVALID",
            Anomaly.field == "modifications[0].titulaires[0].id",
        )
    )
    assert anomaly.value == "868768687576575" and "14 chiffres" in anomaly.message
    (act,) = contract.subcontracting_modifications
    assert (act.act_id, act.amount, act.duration_months) == ("1", 23465.87, 12)
    assert act.notification_date == dt.date(2022, 10, 20)
    # the modification gives a new amount: it is the contract's current state
    assert contract.amount == 575000 and contract.current_amount == 123457.87
    assert contract.duration_months == 48 and contract.current_duration_months == 12


# -- placeholders, flattened keys, malformed holders (DECP 1.5 in the wild) ---------------------
def test_real_world_15_records_are_kept_with_their_defects_as_value_errors(session) -> None:  # type: ignore[no-untyped-def]
    result = import_file(session, "contracts", str(DATA / "real_world_1_5.json"))
    assert result.status == "applied"
    assert (result.row_count, result.counts.inserted) == (7, 5)
    refused = [(p["row"], p["column"]) for p in result.report.problems if p["level"] == "error"]
    assert refused == [(6, "id"), (7, "acheteur.id")]
    assert "7 enregistrement(s) lu(s), 5 ajouté(s)" in result.message
    assert "2 refusé(s) (identifiant manquant : 1; identifiant de l'acheteur manquant : 1)" in (
        result.message
    )

    placeholders = _contract(session, "2021-PLACEHOLDERS")
    assert placeholders.duration_months is None and placeholders.amount is None
    assert [(e["field"], e["raw"], e["kind"], e["file"]) for e in placeholders.value_errors] == [
        ("dureeMois", "NC", "placeholder", "real_world_1_5.json"),
        ("montant", "ND", "placeholder", "real_world_1_5.json"),
    ]
    assert placeholders.raw["dureeMois"] == "NC"  # the value as received stays in raw

    dot = _contract(session, "2021-FLAT-DOT")  # "acheteur.id", nested holder list, "45 000,50"
    assert (dot.buyer_id, dot.buyer_name, dot.place_code) == (
        "21350238800019",
        "Ville de Rennes",
        "35238",
    )
    assert dot.amount == 45000.5 and dot.value_errors is None
    assert [(h.identifier, h.name) for h in dot.holders] == [("21974022200019", "BETA")]

    flat = _contract(session, "2021-FLAT-UNDERSCORE")  # "acheteur_id", 1e17, key-only holders
    assert flat.buyer_id == "21350238800019" and flat.amount == 1e17
    assert flat.notification_date is None and flat.holders == []
    assert [(e["field"], e["raw"], e["kind"]) for e in flat.value_errors] == [
        ("dateNotification", "nan", "placeholder"),
        ("titulaires[0]", "typeIdentifiant", "holder"),
        ("titulaires[1]", "id", "holder"),
    ]

    modified = _contract(session, "2021-MODIFIED")
    first, second = modified.modifications
    assert [h["identifier"] for h in first.holders] == ["868768687576575", "21974022200019"]
    assert second.holders is None and second.notification_date is None  # "null", malformed
    assert modified.current_amount == 25  # the undated modification comes last

    concession = _contract(session, "2021-CONCESSION")  # "autoriteConcedante.id"
    assert concession.kind == "concession" and concession.buyer_id == "21350238800019"
    assert concession.start_date is None and concession.public_subsidy is None
    assert [h.identifier for h in concession.holders] == [None]  # "ND" is no identifier

    run_rules(session, today=TODAY)
    assert ("NC_PLACEHOLDER", "dureeMois") in _anomalies(session, placeholders)
    assert ("NC_PLACEHOLDER", "montant") in _anomalies(session, placeholders)
    assert not {c for c, f in _anomalies(session, placeholders) if c == "CONTRACT_FIELD_MISSING"}
    flat_found = _anomalies(session, flat)
    assert {
        ("CONTRACT_VALUE_UNREADABLE", "titulaires[0]"),
        ("CONTRACT_VALUE_UNREADABLE", "titulaires[1]"),
        ("NC_PLACEHOLDER", "dateNotification"),
        ("CONTRACT_AMOUNT_OUT_OF_RANGE", "amount"),
        ("CONTRACT_FIELD_MISSING", "titulaires"),
    } <= flat_found
    unreadable = session.scalar(
        sa.select(Anomaly).where(Anomaly.record_id == flat.id, Anomaly.field == "titulaires[0]")
    )
    assert "typeIdentifiant" in unreadable.message and "real_world_1_5.json" in unreadable.message
    assert {
        ("CONTRACT_SIRET_INVALID", "modifications[0].titulaires[0].id"),
        ("CONTRACT_MODIFICATION_AMOUNT", "modifications[1].montant"),
        ("CONTRACT_VALUE_UNREADABLE", "modifications[1].titulaires"),
        ("NC_PLACEHOLDER", "modifications[1].dateNotificationModification"),
        ("NC_PLACEHOLDER", "modifications[1].dureeMois"),
    } <= _anomalies(session, modified)
    concession_found = _anomalies(session, concession)
    assert ("NC_PLACEHOLDER", "concessionnaires[0].id") in concession_found
    assert ("CONTRACT_FIELD_MISSING", "concessionnaires[0].id") not in concession_found
    # 1.5 records do not miss v2-only fields
    for contract in session.scalars(sa.select(Contract)):
        fields = {f for c, f in _anomalies(session, contract) if c == "CONTRACT_FIELD_MISSING"}
        assert not fields & {
            "offers_received",
            "social_considerations",
            "environmental_considerations",
        }


def test_holders_in_every_shape_and_never_a_literal_word_or_a_repr() -> None:
    reader = decp._Reader(Report(), 1, "f.json")
    shapes = [
        {"titulaire": {"id": "55204599900869", "typeIdentifiant": "SIRET"}},
        [[{"id": "21974022200019"}], [{"titulaire": {"id": 22130001500247}}]],
        "[{'id': '23350001600040', 'typeIdentifiant': 'SIRET'}]",
        [{"titulaire": "typeIdentifiant"}, {"titulaire": "id"}, {}],
        "35600000000048",
    ]
    found = decp._holders(shapes, "titulaires", "holder", reader)
    assert [h["identifier"] for h in found] == [
        "55204599900869",
        "21974022200019",
        "22130001500247",
        "23350001600040",
        "35600000000048",
    ]
    assert [(e["raw"], e["kind"]) for e in reader.errors] == [
        ("typeIdentifiant", "holder"),
        ("id", "holder"),
        ("{}", "placeholder"),
    ]


# -- modifications: current state, holders, subcontracting, rules -------------------------------
def test_current_state_follows_the_last_modification_in_date_order(session) -> None:  # type: ignore[no-untyped-def]
    import_file(session, "contracts", str(DATA / "v2_modifications.json"))
    contract = _contract(session, "2023-TRAVAUX-01")
    # listed n° 2 then n° 1: in date order the last one sets 1 214 900 € and 24 months
    assert contract.amount == 1_105_000 and contract.current_amount == 1_214_900
    assert contract.duration_months == 18 and contract.current_duration_months == 24
    assert [h["identifier"] for h in contract.current_holders] == [
        "55204599900869",
        "12345678900023",
    ]
    (act,) = contract.subcontracting_modifications
    assert (act.amount, act.duration_months) == (90000, 8)
    sub = next(h for h in contract.holders if h.role == "subcontractor")
    assert sub.notification_date == dt.date(2024, 1, 10) and sub.amount == 80000
    concession = _contract(session, "2024-DSP-01")
    assert (concession.current_amount, concession.current_duration_months) == (3_300_000, 72)

    run_rules(session, today=TODAY)
    assert {
        ("CONTRACT_ADVANCE_INCONSISTENT", "advance_rate"),  # advance given, rate 0
        ("CONTRACT_DATES_ORDER", "actesSousTraitance[0].dateNotification"),
        ("CONTRACT_DATES_ORDER", "modifications[1].dateNotificationModification"),
        ("CONTRACT_SIRET_INVALID", "modifications[1].titulaires[1].id"),
    } <= _anomalies(session, contract)
    assert ("CONTRACT_DATES_ORDER", "start_date") in _anomalies(session, concession)
    future = _contract(session, "2023-TRAVAUX-02")
    assert {
        ("CONTRACT_DATE_FUTURE", "modifications[0].dateNotificationModification"),
        ("CONTRACT_MODIFICATION_AMOUNT", "modifications[0].montant"),
    } <= _anomalies(session, future)


def test_a_corrected_amount_keeps_the_current_amount_in_step(session, make) -> None:  # type: ignore[no-untyped-def]
    contract = make.contract(amount=100_000.0)
    assert contract.current_amount == 100_000.0
    contract.amount = 120_000.0
    session.flush()
    assert contract.current_amount == 120_000.0
    session.add(
        ContractModification(
            contract_id=contract.id, position=0, amount=150_000.0, duration_months=24
        )
    )
    session.flush()
    assert (contract.current_amount, contract.current_duration_months) == (150_000.0, 24)
    contract.amount = 130_000.0  # a modification sets the amount: it stays current
    session.flush()
    assert contract.current_amount == 150_000.0


# -- versions -----------------------------------------------------------------------------------
def test_versioned_csv_rows_are_one_contract_and_a_later_file_continues_it(session) -> None:  # type: ignore[no-untyped-def]
    result = import_file(session, "contracts", str(DATA / "versions.csv"))
    assert (result.row_count, result.counts.inserted) == (3, 2)
    contract = _contract(session, "2022ASC")
    assert (contract.amount, contract.current_amount) == (60000, 110000)
    assert [h.identifier for h in contract.holders] == ["55204599900869", "21974022200019"]
    assert [p["publication_date"] for p in contract.publications] == ["2022-01-20"]
    placeholders = _contract(session, "2022NET")
    assert placeholders.amount is None and placeholders.duration_months is None

    result = import_file(session, "contracts", str(DATA / "versions_later.csv"))
    assert (result.counts.inserted, result.counts.updated) == (0, 1)
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count(Contract.id))) == 2  # nothing counted twice
    contract = _contract(session, "2022ASC")
    assert contract.amount == 60000 and contract.notification_date == dt.date(2022, 1, 10)
    assert [(m.position, m.amount) for m in contract.modifications] == [(0, 110000), (1, 150000)]
    assert (contract.current_amount, contract.current_duration_months) == (150000, 36)
    assert [h.identifier for h in contract.holders] == ["55204599900869", "21974022200019"]
    assert [p["publication_date"] for p in contract.publications] == ["2022-01-20", "2022-12-10"]


def test_republications_keep_the_latest_and_flag_replaced_holders(session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = import_file(session, "contracts", str(DATA / "republished_2024.json"))
    assert (result.row_count, result.counts.inserted) == (2, 1)  # one contract, two publications
    contract = _contract(session, "2024-REPUB")
    assert contract.amount == 80000 and contract.publication_date == dt.date(2024, 3, 10)
    assert [(p["publication_date"], p["amount"]) for p in contract.publications] == [
        ("2024-03-02", 75000)
    ]
    result = import_file(session, "contracts", str(DATA / "republished_2024_later.json"))
    assert result.counts.updated == 1
    assert any(p["column"] == "titulaires" for p in result.report.problems)
    session.expire_all()
    contract = _contract(session, "2024-REPUB")
    assert [h.identifier for h in contract.holders] == ["21974022200019"]
    assert [p["publication_date"] for p in contract.publications] == ["2024-03-02", "2024-03-10"]
    # the first file again: an older publication goes to the history, not over the contract
    again = DATA / "republished_2024.json"
    document = again.read_text(encoding="utf-8").replace(
        '"objet": "Transport scolaire"', '"objet": "Transport"'
    )
    path = tmp_path / "older_republication.json"
    path.write_text(document, encoding="utf-8")
    result = import_file(session, "contracts", str(path))
    assert result.counts.history == 1 and result.counts.updated == 0
    entry = session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "contract.history_added")
    )
    assert entry.import_batch_id == result.batch.id
    session.expire_all()
    contract = _contract(session, "2024-REPUB")
    assert contract.object == "Transport scolaire" and len(contract.publications) == 3
    assert [p["file"] for p in contract.publications].count("older_republication.json") == 1
    run_rules(session, today=TODAY)
    found = _anomalies(session, contract)
    assert ("CONTRACT_HOLDERS_REPLACED", "titulaires") in found
    assert ("CONTRACT_LATE_PUBLICATION", "publication_date") not in found  # first publication


# -- amounts beyond any column ------------------------------------------------------------------
def test_an_amount_beyond_the_column_is_a_value_error_not_a_database_error(session, write) -> None:  # type: ignore[no-untyped-def]
    document = {
        "marches": {
            "marche": [
                {"id": "BIG", "acheteur": {"id": "23350001600040"}, "montant": 1e19},
                {"id": "LARGE", "acheteur": {"id": "23350001600040"}, "montant": 1e17},
                {"id": "LONG", "acheteur": {"id": "23350001600040"}, "dureeMois": 10**12},
            ]
        }
    }
    result = import_file(session, "contracts", write("big.json", json.dumps(document)))
    assert result.status == "applied" and result.counts.inserted == 3
    session.expire_all()
    big, large, long = (_contract(session, i) for i in ("BIG", "LARGE", "LONG"))
    assert big.amount is None and big.value_errors[0]["kind"] == "range"
    assert large.amount == 1e17 and long.duration_months is None
    run_rules(session, today=TODAY)
    assert ("CONTRACT_VALUE_UNREADABLE", "montant") in _anomalies(session, big)
    assert ("CONTRACT_AMOUNT_OUT_OF_RANGE", "amount") in _anomalies(session, large)
