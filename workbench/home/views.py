"""Home page per role: the user's queues with their counts."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template
from flask_login import current_user, login_required

from workbench.extensions import db
from workbench.imports.models import ImportBatch
from workbench.review.models import Correction, CorrectionStatus
from workbench.rules.queries import queue_counts


@login_required
def index():  # type: ignore[no-untyped-def]
    queues = queue_counts(db.session, current_user)
    pending = None
    if current_user.role in ("legal", "admin"):
        pending = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Correction)
            .where(Correction.status == CorrectionStatus.PENDING)
        )
    recent_imports = []
    if current_user.role == "admin":
        recent_imports = db.session.scalars(
            sa.select(ImportBatch).order_by(ImportBatch.id.desc()).limit(5)
        ).all()
    return render_template(
        "home/index.html", queues=queues, pending=pending, recent_imports=recent_imports
    )
