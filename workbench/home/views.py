"""Home page per role: only what the user can act on, each tile counting what its queue lists."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template
from flask_login import current_user, login_required

from workbench.extensions import db
from workbench.imports.labels import format_label
from workbench.imports.models import ImportBatch
from workbench.imports.operations import KIND_LABELS, STATUS_LABELS
from workbench.review.models import Correction, CorrectionStatus
from workbench.rules.queries import queue_counts

#: The queues each role works in (legal decides proposals; it does not fix records).
ACTIONABLE_QUEUES = {
    "canteen": ("articles", "matrix", "purchases"),
    "direction": ("suppliers", "contracts"),
    "admin": ("articles", "matrix", "purchases", "suppliers", "contracts"),
}


def articles_count(user) -> int:  # type: ignore[no-untyped-def]
    """What « Articles à rattacher » lists: unmapped lines, and lines whose code is invalid."""
    from workbench.matching.queries import unmapped_clause
    from workbench.records.models import PurchaseLine
    from workbench.review.groups import invalid_code_count

    unmapped = db.session.scalar(
        sa.select(sa.func.count()).select_from(PurchaseLine).where(unmapped_clause(user))
    )
    return (unmapped or 0) + invalid_code_count(db.session, user)


def queue_tiles(user) -> list[dict]:  # type: ignore[no-untyped-def]
    wanted = ACTIONABLE_QUEUES.get(user.role, ())
    tiles = [q for q in queue_counts(db.session, user) if q["key"] in wanted]
    for tile in tiles:
        if tile["key"] == "articles":
            tile["count"] = articles_count(user)
    return tiles


@login_required
def index():  # type: ignore[no-untyped-def]
    from workbench.review import proposals

    queues = queue_tiles(current_user)
    pending = None
    if current_user.role in ("legal", "admin"):
        pending = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Correction)
            .where(Correction.status == CorrectionStatus.PENDING)
        )
    mine = None
    if current_user.role in ACTIONABLE_QUEUES:
        mine = {
            "pending": db.session.scalar(
                sa.select(sa.func.count()).where(
                    Correction.proposed_by_id == current_user.id,
                    Correction.status == CorrectionStatus.PENDING,
                )
            )
            or 0,
            "new": proposals.unseen_decisions(db.session, current_user),
        }
    recent_imports = []
    if current_user.role == "admin":
        recent_imports = db.session.scalars(
            sa.select(ImportBatch).order_by(ImportBatch.id.desc()).limit(5)
        ).all()
    return render_template(
        "home/index.html",
        queues=queues,
        pending=pending,
        mine=mine,
        recent_imports=recent_imports,
        import_kind_labels=KIND_LABELS,
        import_status_labels=STATUS_LABELS,
        format_label=format_label,
    )
