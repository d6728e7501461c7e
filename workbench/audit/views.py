"""Journal page, CSV export and per-record history."""

from __future__ import annotations

import datetime as dt
import io

from flask import Response, render_template, request
from flask_login import current_user, login_required

from workbench.audit.display import ACTION_FAMILIES, ACTION_LABELS, TARGET_KIND_LABELS, describe_all
from workbench.audit.queries import (
    JournalFilter,
    history_statement,
    journal_page,
    write_journal_csv,
)
from workbench.core.pagination import page_number, paginate
from workbench.core.permissions import roles_required
from workbench.extensions import db
from workbench.records.access import RECORD_KIND_LABELS, load_scoped, record_label


def _parse_date(raw: str | None) -> dt.date | None:
    try:
        return dt.datetime.strptime(raw, "%Y-%m-%d").date() if raw else None
    except ValueError:
        return None


def _filter_from_args() -> JournalFilter:
    args = request.args
    return JournalFilter(
        actor=args.get("acteur") or None,
        action=args.get("action") or None,
        target_kind=args.get("type") or None,
        target_id=args.get("id") or None,
        since=_parse_date(args.get("du")),
        until=_parse_date(args.get("au")),
    )


@roles_required("legal", "admin")
def journal():  # type: ignore[no-untyped-def]
    filt = _filter_from_args()
    listing = journal_page(db.session, filt, page_number())
    return render_template(
        "audit/journal.html",
        shown=describe_all(listing.items, db.session),
        total=listing.total,
        listing=listing,
        filt=filt,
        action_families=ACTION_FAMILIES,
        action_labels=ACTION_LABELS,
        target_kinds={**RECORD_KIND_LABELS, **TARGET_KIND_LABELS},
    )


@roles_required("legal", "admin")
def export_csv():  # type: ignore[no-untyped-def]
    buffer = io.StringIO()
    write_journal_csv(db.session, buffer, _filter_from_args())
    return Response(
        buffer.getvalue(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=journal-audit.csv"},
    )


@login_required
def history(kind: str, record_id: int):  # type: ignore[no-untyped-def]
    record = load_scoped(db.session, kind, record_id, current_user)
    listing = paginate(db.session, history_statement(kind, record_id))
    return render_template(
        "audit/history.html",
        record=record,
        kind=kind,
        kind_label=RECORD_KIND_LABELS[kind],
        label=record_label(kind, record),
        shown=describe_all(listing.items, db.session),
        listing=listing,
    )
