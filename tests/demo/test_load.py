"""Loading the demo into the database, its accounts, and the ``workbench demo`` command."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from stdnum.fr import siret as stdnum_siret

from workbench.audit.models import AuditEntry
from workbench.demo.cli import ALREADY_LOADED, demo_command
from workbench.demo.load import DEFAULT_PASSWORD, database_has_data, load_demo
from workbench.imports.models import ImportBatch
from workbench.records.models import Contract, ContractHolder, PurchaseLine
from workbench.reference.models import MatrixEntry, NomenclatureItem, Site, Supplier

LINES = 1_500


@pytest.fixture
def loaded(session):  # type: ignore[no-untyped-def]
    return load_demo(session, seed=11, lines=LINES)


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_loading_a_reduced_demo_fills_every_table(session, loaded) -> None:
    assert _count(session, Site) == 10
    assert 300 <= _count(session, NomenclatureItem) <= 600
    assert _count(session, Supplier) == loaded.counts["suppliers"] >= 45
    assert _count(session, MatrixEntry) == loaded.counts["matrix_entries"] >= 600
    assert _count(session, PurchaseLine) >= LINES
    assert _count(session, Contract) >= 300
    assert _count(session, ContractHolder) >= 300
    assert database_has_data(session)


def test_loaded_records_keep_their_provenance_and_the_journal_says_so(session, loaded) -> None:
    batches = {b.file_name: b for b in session.scalars(sa.select(ImportBatch))}
    assert {
        "demo:purchases",
        "demo:contracts",
        "demo:suppliers",
        "demo:matrix",
        "demo:nomenclature",
    } <= set(batches)
    purchases = batches["demo:purchases"]
    assert purchases.status == "applied" and purchases.created_by.email == "admin@region.example"
    assert purchases.row_count == _count(session, PurchaseLine)
    orphans = session.scalar(
        sa.select(sa.func.count()).where(
            PurchaseLine.import_batch_id.is_(None) | PurchaseLine.source_row.is_(None)
        )
    )
    assert orphans == 0
    assert (
        session.scalar(
            sa.select(sa.func.count()).where(
                Contract.import_batch_id == batches["demo:contracts"].id
            )
        )
        >= 300
    )
    entries = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "demo.loaded")).all()
    assert len(entries) == 1
    assert entries[0].after["counts"]["purchase_lines"] == loaded.counts["purchase_lines"]


def test_loaded_purchase_lines_point_to_their_site_and_supplier(session, loaded) -> None:
    missing_supplier = session.scalar(
        sa.select(sa.func.count()).where(PurchaseLine.supplier_id.is_(None))
    )
    assert missing_supplier == 0
    twin = session.scalars(sa.select(Supplier).where(Supplier.name == "SAS ARMOR-VIANDES")).one()
    assert stdnum_siret.is_valid(twin.siret)
    unmapped = session.scalar(
        sa.select(sa.func.count()).where(PurchaseLine.nomenclature_code.is_(None))
    )
    assert 0.1 < unmapped / _count(session, PurchaseLine) < 0.3


def test_loaded_contracts_keep_the_decp_record(session, loaded) -> None:
    contract = session.scalars(sa.select(Contract).where(Contract.kind == "marche").limit(1)).one()
    assert contract.raw["id"] == contract.contract_id
    assert contract.raw["titulaires"][0]["titulaire"]["id"] == contract.holders[0].identifier
    assert contract.source_format == "decp_v2"


def test_every_demo_account_can_log_in(client, loaded) -> None:
    assert len(loaded.accounts) >= 8
    assert {a["role"] for a in loaded.accounts} == {
        "admin",
        "legal",
        "direction",
        "canteen",
        "viewer",
    }
    for account in loaded.accounts:
        response = client.login(account["email"], DEFAULT_PASSWORD)
        assert response.status_code == 302, account["email"]
        assert "/connexion" not in response.headers["Location"]
        client.get("/")
        client.post_form("/deconnexion")


def test_demo_command_refuses_on_a_non_empty_database(app, make) -> None:
    make.site()
    result = app.test_cli_runner().invoke(demo_command, [])
    assert result.exit_code == 0, result.output
    assert ALREADY_LOADED in result.output


def test_demo_command_loads_and_prints_the_accounts(app, session) -> None:
    result = app.test_cli_runner().invoke(
        demo_command, ["--lines", "300", "--no-rules", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "admin@region.example" in result.output
    assert "Mot de passe de tous les comptes : demo-workbench" in result.output
    assert _count(session, PurchaseLine) >= 300


def test_simulated_activity_goes_through_the_real_operations(session, loaded) -> None:
    from workbench.demo.activity import simulate_activity
    from workbench.review.models import Correction
    from workbench.rules.operations import run_rules

    run_rules(session)
    done = simulate_activity(session)
    statuses = dict(
        session.execute(
            sa.select(Correction.status, sa.func.count()).group_by(Correction.status)
        ).all()
    )
    assert done.mapped > 0 and statuses.get("applied", 0) >= done.mapped
    assert statuses.get("pending", 0) >= 1
    decided_by_proposer = session.scalar(
        sa.select(sa.func.count())
        .select_from(Correction)
        .where(Correction.decided_by_id == Correction.proposed_by_id)
    )
    assert decided_by_proposer == 0
    applied_entries = session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "correction.applied")
    )
    assert applied_entries == statuses["applied"]


def test_the_loaded_demo_has_its_summary_and_its_marks(session, loaded) -> None:  # type: ignore[no-untyped-def]
    """Bulk-inserted lines (no ``records_changed``): the EGalim summary is built at load, so the
    first mapping does not pay its rebuild; every lycée is marked for the first rule run."""
    from workbench.indicators import summary
    from workbench.rules import marks

    assert summary._built(session) and summary._complete(session)
    sites = set(session.scalars(sa.select(PurchaseLine.site_id).distinct()))
    assert sites and sites <= set(marks.read(session))
