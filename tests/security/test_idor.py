"""Every ``<int:...>`` route, called with the id of something outside the user's scope (and with
an id that does not exist), answers 403/404 and changes nothing."""

from __future__ import annotations

import pytest

from tests.security.conftest import OTHER_DIRECTION, assert_unchanged, snapshot

#: endpoint → (method, URL pattern, form data); ``{kind}`` and ``{id}`` come from the attacker.
ROUTES: dict[str, tuple[str, str, dict]] = {
    "audit.history": ("GET", "/historique/{kind}/{record}", {}),
    "auth.account_request_decide": (
        "POST",
        "/admin/utilisateurs/demandes/{account_request}/decider",
        {"decision": "approve"},
    ),
    "auth.user_edit": ("POST", "/admin/utilisateurs/{user}", {"role": "admin", "email": "a@b.fr"}),
    "imports.batch": ("GET", "/imports/{batch}", {}),
    "imports.report_csv": ("GET", "/imports/{batch}/rapport.csv", {}),
    "review.claim": ("POST", "/anomalies/{anomaly}/prendre", {}),
    "review.correct": ("POST", "/dossiers/{kind}/{record}/corriger", {}),
    "review.decide": ("POST", "/corrections/{pending}/decider", {"decision": "approve"}),
    "review.dismiss": (
        "POST",
        "/anomalies/{anomaly}/ecarter",
        {"reason_code": "false_positive", "comment": "forgé"},
    ),
    "review.record": ("GET", "/dossiers/{kind}/{record}", {}),
    "review.report_matrix": (
        "POST",
        "/dossiers/purchase_line/{record}/signaler-matrice",
        {"field": "labels", "comment": "forgé"},
    ),
    "review.revert": ("POST", "/corrections/{applied}/annuler", {"reason": "forgé"}),
    # administrator pages (a 403 whatever the id) and jobs (404 unless one's own: tests/jobs)
    "reference.site_edit": ("POST", "/admin/sites/{batch}", {"uai": "0350001A", "name": "x"}),
    "reference.approve": ("POST", "/admin/nomenclature/propositions/{batch}/approuver", {}),
    "reference.refuse": (
        "POST",
        "/admin/nomenclature/propositions/{batch}/refuser",
        {"reason": "forgé"},
    ),
    "jobs.job": ("GET", "/travaux/{batch}", {}),
    "jobs.status": ("GET", "/travaux/{batch}/etat.json", {}),
    "jobs.cancel": ("POST", "/travaux/{batch}/annuler", {}),
}
#: Authenticated by a source system's token; a batch of another token is a 404 (tests/api).
TOKEN_ROUTES = {"api.get_batch"}


def test_the_table_covers_every_int_route(app):
    """A new ``<int:...>`` route must be added to :data:`ROUTES` (and so be tested)."""
    endpoints = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if any(type(c).__name__ == "IntegerConverter" for c in rule._converters.values())
    }
    assert endpoints == set(ROUTES) | TOKEN_ROUTES


def _targets(world, attacker: str) -> dict:  # type: ignore[no-untyped-def]
    if attacker == "canteen":
        return {
            "kind": "purchase_line",
            "record": world.other_line.id,
            "anomaly": world.line_anomaly.id,
            "pending": world.line_pending.id,
            "applied": world.line_applied.id,
            "user": world.other_canteen.id,
            "batch": world.other_batch.id,
            "account_request": world.account_request.id,
        }
    return {
        "kind": "contract",
        "record": world.other_contract.id,
        "anomaly": world.contract_anomaly.id,
        "pending": world.contract_pending.id,
        "applied": world.contract_applied.id,
        "user": world.other_direction.id,
        "batch": world.other_batch.id,
        "account_request": world.account_request.id,
    }


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
@pytest.mark.parametrize("attacker", ["canteen", "direction"])
def test_a_foreign_id_is_refused(client, session, world, login_as, endpoint, attacker):
    if attacker == "canteen":
        login_as("canteen", sites=[world.own_site])
    else:
        login_as("direction", direction="DLYC")
    method, pattern, data = ROUTES[endpoint]
    url = pattern.format(**_targets(world, attacker))
    before = snapshot(session)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post_form(url, {"field": "object", "value": "x", "reason": "r", **data})
    assert response.status_code in (403, 404), (url, response.status_code)
    assert_unchanged(session, before)


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_an_unknown_id_is_a_404_even_for_the_widest_roles(
    client, session, world, login_as, endpoint
):
    login_as("legal" if endpoint == "review.decide" else "admin")
    method, pattern, data = ROUTES[endpoint]
    missing = 10**9
    url = pattern.format(
        kind="contract",
        **{
            k: missing
            for k in ("record", "anomaly", "pending", "applied", "user", "batch", "account_request")
        },
    )
    before = snapshot(session)
    response = client.get(url) if method == "GET" else client.post_form(url, data)
    assert response.status_code == 404, url
    assert_unchanged(session, before)


def test_an_unknown_record_kind_is_a_404(client, world, login_as):
    login_as("admin")
    for url in (
        f"/dossiers/user/{world.other_canteen.id}",
        f"/historique/anomaly/{world.line_anomaly.id}",
        f"/dossiers/import_batch/{world.other_batch.id}",
    ):
        assert client.get(url).status_code == 404, url


def test_the_other_direction_itself_is_allowed(client, world, login_as):
    """The control of the direction cases above: the same ids work for their owner."""
    login_as("direction", direction=OTHER_DIRECTION)
    assert client.get(f"/dossiers/contract/{world.other_contract.id}").status_code == 200
    assert client.get(f"/historique/contract/{world.other_contract.id}").status_code == 200
