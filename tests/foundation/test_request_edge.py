"""The one request edge (workbench.core.edge): commit, or roll back and flash the French refusal."""

from __future__ import annotations

import ast
import pathlib

import pytest
import sqlalchemy as sa
from flask import session as web_session
from werkzeug.exceptions import Forbidden

from workbench.audit.models import AuditEntry
from workbench.audit.operations import record
from workbench.core.edge import BUSY_MESSAGE, FAILED, commit, commit_or_flash
from workbench.core.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from workbench.reference.models import Site

ROOT = pathlib.Path(__file__).resolve().parents[2] / "workbench"

#: Modules that may end a transaction themselves, and why.
ALLOWED = {
    "core/edge.py": "the request edge itself",
    "core/errors.py": "the error handlers roll back what a failed request left",
    "auth/bookkeeping.py": "the login's bookkeeping is a short transaction of its own, by design",
    "api/blueprint.py": "the API's edge: each call is journalled and committed once, after it",
}


def _sites(session, uai: str) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(sa.func.count()).select_from(Site).where(Site.uai == uai))


def _journal(session) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))


def _write(session, uai: str):  # type: ignore[no-untyped-def]
    """An operation that writes a row and its journal entry."""

    def action() -> Site:
        site = Site(uai=uai, name=f"Lycée {uai}", kind="lycee")
        session.add(site)
        session.flush()
        record(session, "site.create", target_kind="site", target_id=site.id, target_label=uai)
        return site

    return action


def _refused(session, uai: str, error: Exception):  # type: ignore[no-untyped-def]
    def action() -> None:
        _write(session, uai)()
        raise error

    return action


def _flashed() -> list[tuple[str, str]]:
    """The messages flashed so far in the request (and forgets them)."""
    return [tuple(m) for m in web_session.pop("_flashes", [])]


@pytest.fixture
def post(app):  # type: ignore[no-untyped-def]
    with app.test_request_context("/action", method="POST"):
        yield


def test_commits_the_operation_and_returns_its_result(session, post):  # type: ignore[no-untyped-def]
    before = _journal(session)
    site = commit_or_flash(_write(session, "0350901A"))
    assert isinstance(site, Site) and site.uai == "0350901A"
    session.rollback()  # nothing left to roll back: it was committed
    assert _sites(session, "0350901A") == 1
    assert _journal(session) == before + 1
    assert _flashed() == []


@pytest.mark.parametrize(
    "error",
    [
        ValidationError("Code invalide : « X » n'existe pas."),
        ConflictError("L'enregistrement a changé depuis votre lecture."),
        NotFound("Règle inconnue : R."),
    ],
    ids=["validation", "conflict", "not-found"],
)
def test_a_refusal_rolls_back_and_flashes_its_french_message(session, post, error):  # type: ignore[no-untyped-def]
    before = _journal(session)
    assert commit_or_flash(_refused(session, "0350902B", error)) is FAILED
    assert _sites(session, "0350902B") == 0
    assert _journal(session) == before  # the journal is untouched
    assert _flashed() == [("danger", error.message)]


def test_a_permission_refusal_is_a_403_unless_explained(session, post):  # type: ignore[no-untyped-def]
    denied = PermissionDenied("Vous ne pouvez pas décider de votre propre proposition.")
    before = _journal(session)
    with pytest.raises(Forbidden):
        commit_or_flash(_refused(session, "0350903C", denied))
    assert _sites(session, "0350903C") == 0 and _journal(session) == before
    assert _flashed() == []
    result = commit_or_flash(_refused(session, "0350903C", denied), refusal_as_message=True)
    assert result is FAILED and not result
    assert _sites(session, "0350903C") == 0 and _journal(session) == before
    assert _flashed() == [("danger", denied.message)]


def test_a_lock_given_up_rolls_back_and_says_nothing_was_changed(session, post):  # type: ignore[no-untyped-def]
    locked = sa.exc.OperationalError("UPDATE anomalies", {}, Exception("database is locked"))
    assert commit_or_flash(_refused(session, "0350904D", locked)) is FAILED
    assert _sites(session, "0350904D") == 0
    assert _flashed() == [("danger", BUSY_MESSAGE)]
    assert "rien n'a été modifié" in BUSY_MESSAGE


def test_an_unexpected_error_rolls_back_and_propagates(session, post):  # type: ignore[no-untyped-def]
    before = _journal(session)
    with pytest.raises(RuntimeError, match="boum"):
        commit_or_flash(_refused(session, "0350905E", RuntimeError("boum")))
    other = sa.exc.OperationalError("SELECT", {}, Exception("no such table: x"))
    with pytest.raises(sa.exc.OperationalError):
        commit_or_flash(_refused(session, "0350905E", other))
    assert _sites(session, "0350905E") == 0 and _journal(session) == before
    assert _flashed() == []


def test_commit_lets_a_refusal_reach_the_error_pages(session, post):  # type: ignore[no-untyped-def]
    assert commit(_write(session, "0350906F")).uai == "0350906F"
    session.rollback()
    assert _sites(session, "0350906F") == 1
    before = _journal(session)
    with pytest.raises(ValidationError):
        commit(_refused(session, "0350907G", ValidationError("Fichier illisible.")))
    assert _sites(session, "0350907G") == 0 and _journal(session) == before


def test_a_refused_form_over_http_writes_nothing_and_shows_the_refusal(client, login_as, session):  # type: ignore[no-untyped-def]
    """End to end: a site refused by its operation → 400 with the French message, nothing written;
    the same form accepted → committed with its journal entry."""
    login_as("admin")
    before = _journal(session)
    form = {"uai": "ABC", "name": "Lycée refusé", "kind": "lycee", "direction_code": ""}
    response = client.post_form("/admin/sites/nouveau", form)
    assert response.status_code == 400
    assert "Code UAI invalide « ABC »" in response.get_data(as_text=True)
    assert _journal(session) == before
    response = client.post_form("/admin/sites/nouveau", {**form, "uai": "0350908H"})
    assert response.status_code == 302
    assert _sites(session, "0350908H") == 1 and _journal(session) == before + 1


def _ends_transactions(path: pathlib.Path) -> list[int]:
    """Lines where ``db.session.commit()`` / ``db.session.rollback()`` (or a bare
    ``session.commit()`` on ``db``) is called in the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in ("commit", "rollback"):
            continue
        owner = node.func.value
        if (
            isinstance(owner, ast.Attribute)
            and owner.attr == "session"
            and isinstance(owner.value, ast.Name)
            and owner.value.id == "db"
        ):
            lines.append(node.lineno)
    return lines


def test_no_request_code_ends_a_transaction_outside_the_edge():
    """Every web request commits or rolls back through workbench.core.edge. The command line
    (``cli.py`` modules: one command, one transaction) and the allow-list are the exceptions."""
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if path.name == "cli.py" or relative.startswith("demo/") or relative in ALLOWED:
            continue
        offenders += [f"{relative}:{line}" for line in _ends_transactions(path)]
    assert offenders == [], "call workbench.core.edge instead: " + ", ".join(offenders)
    assert all((ROOT / name).exists() for name in ALLOWED)


#: View functions that catch a domain error raised by their own parsing (nothing to roll back).
PARSING = {("matching/views.py", "bulk_preview")}
DOMAIN_ERRORS = {
    "WorkbenchError",
    "ValidationError",
    "PermissionDenied",
    "ConflictError",
    "NotFound",
    "OperationalError",
}


def test_no_view_module_catches_domain_errors_itself():
    """The try/except-rollback-flash block lives in the edge only: views hand it their operation."""
    offenders = []
    for path in sorted(ROOT.rglob("views.py")):
        relative = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef) or (relative, function.name) in PARSING:
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ExceptHandler) and node.type is not None:
                    names = {n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)}
                    names |= {n.attr for n in ast.walk(node.type) if isinstance(n, ast.Attribute)}
                    if names & DOMAIN_ERRORS:
                        offenders.append(f"{relative}:{node.lineno} ({function.name})")
    assert offenders == [], offenders
