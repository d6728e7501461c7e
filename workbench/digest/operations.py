"""Compose and send the digest: each active user's queues, the proposals awaiting their decision,
their own proposals decided since the last digest — French plain text, over SMTP.

Counts come from the same functions as the home tiles (``home.views.queue_tiles``, scoped by
``records.access.scope_clause``), so a digest never promises what the queue does not list. The
last digest sent to a user is its journal entry ``digest.sent``: no table of its own.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit.models import AuditEntry
from workbench.audit.operations import record
from workbench.auth.models import Role, User
from workbench.core.formatting import format_date, format_number, plural
from workbench.db import utcnow
from workbench.review.models import CORRECTION_STATUS_LABELS, Correction, CorrectionStatus

#: The journal action of a digest sent (its time is the next digest's « since »).
ACTION = "digest.sent"
#: A first digest reports the decisions of the last days.
FIRST_DIGEST_DAYS = 7
#: Decisions listed one by one in a digest (the rest are counted).
MAX_DECISIONS = 20
SUBJECT = "Workbench : ce qui vous attend"


class SmtpDisabled(Exception):
    """``SMTP_HOST`` is not set: the digest is off."""


@dataclass
class Digest:
    """What waits for one user."""

    user: User
    since: dt.datetime
    queues: list[dict[str, Any]] = field(default_factory=list)
    to_decide: int = 0
    pending_mine: int = 0
    decided: list[Correction] = field(default_factory=list)
    decided_total: int = 0
    names: dict[tuple[str, int], str] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (
            any(q["count"] for q in self.queues)
            or self.to_decide
            or self.pending_mine
            or self.decided_total
        )

    def text(self) -> str:
        """The French plain-text body."""
        from workbench.review import labels

        who = self.user.name or self.user.email
        lines = [f"Bonjour {who},", "", "Voici ce qui vous attend dans Workbench.", ""]
        waiting = [q for q in self.queues if q["count"]]
        if waiting:
            lines.append("Vos files :")
            lines += [f"- {q['title']} : {format_number(q['count'])}" for q in waiting]
            lines.append("")
        if self.to_decide:
            lines.append(
                f"À valider : {plural(self.to_decide, 'proposition')} attendent votre décision."
                if self.to_decide > 1
                else "À valider : 1 proposition attend votre décision."
            )
            lines.append("")
        if self.decided_total:
            lines.append(
                f"Vos propositions décidées depuis le {format_date(self.since)} "
                f"({format_number(self.decided_total)}) :"
            )
            for c in self.decided:
                name = self.names.get((c.record_kind, c.record_id), f"n° {c.record_id}")
                status = CORRECTION_STATUS_LABELS.get(c.status, c.status)
                change = (
                    f"{labels.field_label(c.record_kind, c.field)} : "
                    f"{labels.shown_value(c.record_kind, c.field, c.old_value)} → "
                    f"{labels.shown_value(c.record_kind, c.field, c.new_value)}"
                )
                by = (c.decided_by.name or c.decided_by.email) if c.decided_by else "—"
                line = f"- {status} : {name} — {change} (par {by}, le {format_date(c.decided_at)})"
                if c.decision_comment:
                    line += f" « {c.decision_comment} »"
                lines.append(line)
            if self.decided_total > len(self.decided):
                rest = self.decided_total - len(self.decided)
                lines.append(f"- … et {format_number(rest)} autre(s) : voir « Mes propositions ».")
            lines.append("")
        if self.pending_mine:
            lines.append(
                f"En attente de décision : {plural(self.pending_mine, 'proposition')} de votre part."
            )
            lines.append("")
        lines.append(
            "Message automatique de Workbench : le détail est dans l'application (Accueil, "
            "« Mes propositions », « À valider »)."
        )
        return "\n".join(lines) + "\n"


def last_sent(session: Session, user: User) -> dt.datetime | None:
    """When the last digest was sent to ``user`` (its journal entry)."""
    return session.scalar(
        sa.select(sa.func.max(AuditEntry.occurred_at)).where(
            AuditEntry.action == ACTION,
            AuditEntry.target_kind == "user",
            AuditEntry.target_id == str(user.id),
        )
    )


def compose(session: Session, user: User, now: dt.datetime | None = None) -> Digest:
    """What waits for ``user``: the counts of their home tiles, and their proposals' outcome."""
    from workbench.home.views import queue_tiles
    from workbench.review import proposals

    now = now or utcnow()
    since = last_sent(session, user)
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    since = since or now - dt.timedelta(days=FIRST_DIGEST_DAYS)
    digest = Digest(user=user, since=since, queues=queue_tiles(user))
    if user.role == Role.LEGAL:
        digest.to_decide = len(proposals.decidable_ids(session, user, proposals.ApprovalFilter()))
    elif user.role == Role.ADMIN:
        digest.to_decide = (
            session.scalar(
                sa.select(sa.func.count()).where(Correction.status == CorrectionStatus.PENDING)
            )
            or 0
        )
    mine = sa.select(Correction).where(Correction.proposed_by_id == user.id)
    digest.pending_mine = (
        session.scalar(
            sa.select(sa.func.count()).select_from(
                mine.where(Correction.status == CorrectionStatus.PENDING).subquery()
            )
        )
        or 0
    )
    decided = mine.where(Correction.decided_at.is_not(None), Correction.decided_at > since)
    digest.decided_total = (
        session.scalar(sa.select(sa.func.count()).select_from(decided.subquery())) or 0
    )
    digest.decided = list(
        session.scalars(
            decided.order_by(Correction.decided_at.desc(), Correction.id.desc()).limit(
                MAX_DECISIONS
            )
        )
    )
    digest.names = proposals.record_names(session, digest.decided)
    return digest


def message(digest: Digest, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = SUBJECT
    mail["From"] = sender
    mail["To"] = digest.user.email
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "workbench")
    mail.set_content(digest.text(), charset="utf-8")
    return mail


def active_users(session: Session) -> list[User]:
    return list(
        session.scalars(
            sa.select(User).where(User.is_active_account.is_(True)).order_by(User.email)
        )
    )


def journal_sent(session: Session, digest: Digest) -> None:
    """Journal a digest sent (``digest.sent``; flushes, never commits): the next one starts here."""
    record(
        session,
        ACTION,
        target_kind="user",
        target_id=digest.user.id,
        target_label=digest.user.email,
        after={
            "queues": {q["key"]: q["count"] for q in digest.queues if q["count"]},
            "to_decide": digest.to_decide,
            "decided": digest.decided_total,
        },
    )


def connect(config: Mapping[str, Any]) -> smtplib.SMTP:
    """An SMTP connection from the settings (``SMTP_HOST`` unset: :class:`SmtpDisabled`)."""
    if not config.get("SMTP_HOST"):
        raise SmtpDisabled("Récapitulatif désactivé : SMTP_HOST n'est pas renseigné.")
    smtp = smtplib.SMTP(config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25), timeout=30)
    if config.get("SMTP_STARTTLS"):
        smtp.starttls()
    if config.get("SMTP_USER"):
        smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
    return smtp
