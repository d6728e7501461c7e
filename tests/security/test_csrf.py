"""Every POST route refuses a request without its CSRF token (400) and changes nothing; the same
request with the token does change something (so the refusal is the token's doing)."""

from __future__ import annotations

import io

import pytest

from tests.conftest import PASSWORD
from tests.security.conftest import OWN_SIRET, assert_unchanged, snapshot
from workbench.review.groups import group_token


def _purchase_file(world) -> bytes:  # type: ignore[no-untyped-def]
    from tests.imports.conftest import HEADER

    uai = getattr(world.own_site, "uai", "0000001X")
    row = f"{uai};02/03/2026;{OWN_SIRET};Fournisseur;R1;POMME;10;kg;12,50;;;France;"
    return f"{HEADER}\n{row}\n".encode()


def _requests(world) -> dict[str, tuple[str, str, dict]]:  # type: ignore[no-untyped-def]
    """endpoint → (role, URL, valid form data) of a request that would change the database."""
    return {
        "auth.account_request_decide": (
            "legal",
            f"/admin/utilisateurs/demandes/{world.account_request.id}/decider",
            {"decision": "approve", "comment": "vu"},
        ),
        "auth.user_edit": (
            "admin",
            f"/admin/utilisateurs/{world.other_canteen.id}",
            {"email": world.other_canteen.email, "role": "viewer", "is_active": "y"},
        ),
        "auth.user_new": (
            "admin",
            "/admin/utilisateurs/nouveau",
            {
                "email": "nouveau@region.example",
                "role": "viewer",
                "password": "x" * 12,
                "is_active": "y",
            },
        ),  # fmt: skip
        "imports.index": (
            "admin",
            "/imports/",
            {"kind": "purchases", "file_format": "", "site": "", "file": _purchase_file(world)},
        ),
        "matching.map_group": (
            "admin",
            "/articles/rattacher",
            {"group": world.other_group, "code": world.code},
        ),
        "matching.reject": (
            "admin",
            "/articles/refuser",
            {"group": world.other_group, "code": world.code},
        ),
        "review.claim": ("admin", f"/anomalies/{world.line_anomaly.id}/prendre", {}),
        "review.correct": (
            "admin",
            f"/dossiers/purchase_line/{world.other_unmapped.id}/corriger",
            {"field": "nomenclature_code", "value": world.code, "reason": "vu"},
        ),
        "review.decide": (
            "legal",
            f"/corrections/{world.line_pending.id}/decider",
            {"decision": "approve", "comment": "ok"},
        ),
        "review.decide_many": (
            "legal",
            "/a-valider/groupe",
            {"decision": "approve", "comment": "ok", "ids": [str(world.line_pending.id)]},
        ),
        "review.dismiss": (
            "admin",
            f"/anomalies/{world.line_anomaly.id}/ecarter",
            {"reason_code": "false_positive", "comment": "faux positif"},
        ),
        "review.report_matrix": (
            "admin",
            f"/dossiers/purchase_line/{world.matrix_line.id}/signaler-matrice",
            {"field": "labels", "comment": "certificat AB"},
        ),
        "review.revert": (
            "admin",
            f"/corrections/{world.line_applied.id}/annuler",
            {"reason": "erreur"},
        ),
        "review.queue_bulk": (
            "admin",
            "/files/purchases/groupes",
            {"action": "claim", "groupes": [group_token(world.line_anomaly)]},
        ),
        "matching.bulk_accept": (
            "admin",
            "/articles/lot/confirmer",
            {"choix": [f"{world.code}@{world.other_group}"], "site": ""},
        ),
        "matching.undo": ("admin", "/articles/annuler", {}),
        "rules.update": (
            "admin",
            "/regles/SIRET_MISSING",
            {"SIRET_MISSING-approval_policy": "immediate"},
        ),
    }


SESSION_ROUTES = {"auth.login", "auth.logout"}
#: Authenticated by a bearer token, never by the session cookie: exempt from CSRF (tests/api).
TOKEN_ROUTES = {"api.post_purchases", "api.post_matrix", "api.post_contracts"}
#: Change only the job queue's storage (the cancellation flag): tested in tests/jobs.
QUEUE_ROUTES = {"jobs.cancel"}


def _reference_requests(world) -> dict[str, tuple[str, str, dict]]:  # type: ignore[no-untyped-def]
    """The reference, nomenclature and jobs pages' POST routes (developer i13)."""
    from workbench.extensions import db
    from workbench.reference import nomenclature
    from workbench.reference.models import NomenclatureItem

    proposal = nomenclature.propose_item(db.session, None, label="Tofu", family="AUTRES")
    target = NomenclatureItem(code="N99999", label="Cible", family="AUTRES")
    db.session.add(target)
    db.session.flush()
    site = world.other_site
    return {
        "reference.direction_new": (
            "admin", "/admin/directions/nouvelle", {"code": "DNEW", "name": "Nouvelle"},
        ),
        "reference.direction_edit": (
            "admin", f"/admin/directions/{site.direction_code}", {"code": "X", "name": "Autre"},
        ),
        "reference.site_new": (
            "admin",
            "/admin/sites/nouveau",
            {"uai": "0440001X", "name": "Lycée neuf", "kind": "lycee", "direction_code": ""},
        ),
        "reference.site_edit": (
            "admin",
            f"/admin/sites/{site.id}",
            {"uai": site.uai, "name": "Renommé", "kind": "lycee", "direction_code": ""},
        ),
        "reference.propose": (
            "admin", "/nomenclature/proposer", {"label": "Seitan", "family": "AUTRES"},
        ),
        "reference.approve": (
            "admin",
            f"/admin/nomenclature/propositions/{proposal.id}/approuver",
            {f"p{proposal.id}-code": "N77777", f"p{proposal.id}-label": "Tofu",
             f"p{proposal.id}-family": "AUTRES"},
        ),
        "reference.refuse": (
            "admin",
            f"/admin/nomenclature/propositions/{proposal.id}/refuser",
            {"reason": "existe déjà"},
        ),
        "reference.retire": ("admin", f"/admin/nomenclature/{world.code}/retirer", {}),
        "reference.merge": (
            "admin", f"/admin/nomenclature/{world.code}/fusionner", {"target": target.code},
        ),
        "jobs.run_rules": ("admin", "/travaux/regles", {}),
    }  # fmt: skip


#: The POST routes that change data, each with a request in :func:`_requests`.
POST_ENDPOINTS = [
    "auth.account_request_decide", "auth.user_edit", "auth.user_new", "imports.index", "matching.map_group",
    "matching.reject", "review.claim", "review.correct", "review.decide",
    "review.decide_many", "review.dismiss", "review.report_matrix", "review.revert", "rules.update",
    "review.queue_bulk", "matching.bulk_accept", "matching.undo",
]  # fmt: skip
POST_ENDPOINTS += [
    "reference.direction_new", "reference.direction_edit", "reference.site_new",
    "reference.site_edit", "reference.propose", "reference.approve", "reference.refuse",
    "reference.retire", "reference.merge", "jobs.run_rules",
]  # fmt: skip


def test_the_table_covers_every_post_route(app):
    """A new POST route must be added to :data:`POST_ENDPOINTS` (and so be tested)."""
    posts = {r.endpoint for r in app.url_map.iter_rules() if "POST" in r.methods}
    assert posts == set(POST_ENDPOINTS) | SESSION_ROUTES | TOKEN_ROUTES | QUEUE_ROUTES


def _send(client, url: str, data: dict, token: bool):  # type: ignore[no-untyped-def]
    payload = {
        k: (io.BytesIO(v), "achats.csv") if isinstance(v, bytes) else v for k, v in data.items()
    }
    if token:
        return client.post_form(url, payload, content_type="multipart/form-data")
    return client.post(url, data=payload, content_type="multipart/form-data")


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS)
def test_a_post_without_csrf_token_is_refused_and_changes_nothing(
    client, session, world, login_as, endpoint
):
    requests = {**_requests(world), **_reference_requests(world)}
    assert set(requests) == set(POST_ENDPOINTS)
    role, url, data = requests[endpoint]
    user = login_as(role)
    if endpoint == "matching.undo":  # something to undo: a decision of this very user
        from workbench.matching.operations import map_group

        map_group(session, user, world.other_group, world.code)
    before = snapshot(session)
    response = _send(client, url, data, token=False)
    assert response.status_code == 400, response.status_code
    assert_unchanged(session, before)
    # the control: the very same request with its token changes the database
    response = _send(client, url, data, token=True)
    assert response.status_code in (200, 302), response.status_code
    with pytest.raises(AssertionError, match="tables changed"):
        assert_unchanged(session, before)


def test_a_forged_token_is_refused_too(client, session, world, login_as):
    login_as("admin")
    before = snapshot(session)
    response = client.post(
        f"/anomalies/{world.line_anomaly.id}/prendre", data={"csrf_token": "forgé.forgé"}
    )
    assert response.status_code == 400
    assert_unchanged(session, before)


def test_logout_without_token_keeps_the_session(client, session, world, login_as):
    login_as("viewer")
    before = snapshot(session)
    assert client.post("/deconnexion").status_code == 400
    assert client.get("/").status_code == 200
    assert_unchanged(session, before)


def test_login_without_token_is_refused(client, session, make):
    user = make.user(role="viewer", password=PASSWORD)
    before = snapshot(session)
    response = client.post("/connexion", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # still anonymous
    assert_unchanged(session, before)
