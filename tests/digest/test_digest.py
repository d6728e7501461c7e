"""``workbench digest send``: each active user gets what waits for them, received by a local
SMTP server (aiosmtpd); nothing is sent twice, nothing at all when SMTP is off."""

from __future__ import annotations

import email
import socket
from email.policy import default as default_policy

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from workbench.audit.models import AuditEntry
from workbench.review import operations as review


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"

    def to(self, address: str) -> str:
        found = [m for m in self.messages if m["To"] == address]
        assert len(found) == 1, [m["To"] for m in self.messages]
        return found[0].get_content()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox(app, monkeypatch):  # type: ignore[no-untyped-def]
    handler = Inbox()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", port)
    monkeypatch.setitem(app.config, "SMTP_FROM", "workbench@region.example")
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def world(session, make):  # type: ignore[no-untyped-def]
    """A canteen with an anomaly in its queue, a direction user whose proposal legal approved
    with a comment and another still pending, a legal user, a viewer with nothing to do."""
    site = make.site(name="Lycée Brizeux")
    canteen = make.user(role="canteen", sites=[site], email="cantine@region.example")
    line = make.purchase_line(site, label="YAOURT NATURE")
    make.anomaly(line, "MATRIX_PRICE_GAP", "amount_ht")
    direction = make.user(role="direction", name="Direction des lycées", email="dir@region.example")
    legal = make.user(role="legal", name="Service juridique", email="legal@region.example")
    decided_supplier = make.supplier(siret=None, name="Charcuterie Le Gall", direction_code="DLYC")
    pending_supplier = make.supplier(siret=None, name="Laiterie de l'Ouest", direction_code="DLYC")
    approved = review.propose_correction(
        session, direction, "supplier", decided_supplier.id, "company_category", "PME", "Sirene"
    )
    review.decide(session, legal, approved, True, "Vérifié dans Sirene")
    review.propose_correction(
        session, direction, "supplier", pending_supplier.id, "company_category", "ETI", "Bilan"
    )
    make.user(role="viewer", email="lecteur@region.example")
    session.flush()
    return {"canteen": canteen, "direction": direction, "legal": legal}


def _journalled(session) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(
        session.scalars(
            sa.select(AuditEntry.target_label).where(AuditEntry.action == "digest.sent")
        )
    )


def test_each_person_receives_what_waits_for_them_in_french(app, session, world, inbox):  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(args=["digest", "send"])
    assert result.exit_code == 0, result.output
    assert "3 récapitulatif(s) envoyé(s)" in result.output
    assert sorted(m["To"] for m in inbox.messages) == [
        "cantine@region.example",
        "dir@region.example",
        "legal@region.example",
    ]  # the viewer has nothing waiting: no mail
    assert all(m["Subject"] == "Workbench : ce qui vous attend" for m in inbox.messages)
    canteen = inbox.to("cantine@region.example")
    assert "Vos files :" in canteen and "Écarts matrice fournisseur : 1" in canteen
    direction = inbox.to("dir@region.example")
    assert "Bonjour Direction des lycées" in direction
    assert "Appliquée : Charcuterie Le Gall — Catégorie d'entreprise : — → PME" in direction
    assert "par Service juridique" in direction and "« Vérifié dans Sirene »" in direction
    assert "En attente de décision : 1 proposition de votre part." in direction
    legal = inbox.to("legal@region.example")
    assert "À valider : 1 proposition attend votre décision." in legal
    for body in (canteen, direction, legal):
        assert "None" not in body and "company_category" not in body
    assert _journalled(session) == [
        "cantine@region.example",
        "dir@region.example",
        "legal@region.example",
    ]


def test_the_next_digest_reports_only_decisions_made_since(app, session, world, inbox):  # type: ignore[no-untyped-def]
    assert app.test_cli_runner().invoke(args=["digest", "send"]).exit_code == 0
    inbox.messages.clear()
    assert app.test_cli_runner().invoke(args=["digest", "send"]).exit_code == 0
    direction = inbox.to("dir@region.example")
    assert "Charcuterie Le Gall" not in direction  # decided before the first digest
    assert "En attente de décision : 1 proposition" in direction


def test_dry_run_prints_and_sends_nothing(app, session, world, inbox):  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(args=["digest", "send", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "À : dir@region.example" in result.output
    assert "Bonjour Direction des lycées" in result.output
    assert "Simulation : 3 message(s) à envoyer" in result.output
    assert inbox.messages == [] and _journalled(session) == []


def test_without_smtp_host_the_digest_is_off(app, session, world, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setitem(app.config, "SMTP_HOST", None)
    result = app.test_cli_runner().invoke(args=["digest", "send"])
    assert result.exit_code == 0 and "SMTP_HOST n'est pas renseigné" in result.output
    assert _journalled(session) == []
