"""Queues: scope, filters, order, pagination."""

from __future__ import annotations

import pytest

from workbench.rules import registry


class _ArticlesRule(registry.Rule):
    code = "TEST_QUEUE_ARTICLES"
    title = "Règle de test"
    explanation = "Pour les tests."
    domain = "purchases"
    record_kind = "purchase_line"
    queue = "articles"
    owner_role = "canteen"


@pytest.fixture
def rule(monkeypatch):
    registry.load_builtin_rules()
    monkeypatch.setitem(registry._REGISTRY, _ArticlesRule.code, _ArticlesRule)
    return _ArticlesRule


def _anomaly(make, line, days_old=0, severity="warning", status="open"):
    return make.anomaly(
        line,
        _ArticlesRule.code,
        "nomenclature_code",
        severity=severity,
        days_old=days_old,
        status=status,
        value=line.label,
        message=f"Article {line.label} non rattaché",
    )


def test_canteen_queue_shows_only_its_lycee_oldest_first(client, login_as, make, session, rule):
    own, other = make.site(), make.site()
    login_as("canteen", sites=[own])
    recent = _anomaly(make, make.purchase_line(own, label="PDT GT LAVEE SAC 10KG"), days_old=1)
    old = _anomaly(make, make.purchase_line(own, label="YAOURT NAT BIO"), days_old=30)
    _anomaly(make, make.purchase_line(other, label="SECRET AUTRE LYCEE"))
    html = client.get("/files/articles").get_data(as_text=True)
    assert "SECRET AUTRE LYCEE" not in html
    assert html.index(f"n° {old.record_id}<") < html.index(f"n° {recent.record_id}<")
    home = client.get("/").get_data(as_text=True)
    assert 'data-queue="articles"' in home


def test_filters_search_and_age(client, login_as, make, session, rule):
    site = make.site()
    login_as("canteen", sites=[site])
    _anomaly(make, make.purchase_line(site, label="STEAK HACHE VBF"), days_old=40)
    _anomaly(make, make.purchase_line(site, label="YAOURT NATURE"), days_old=2)
    html = client.get("/files/articles?q=steak").get_data(as_text=True)
    assert "STEAK HACHE" in html and "YAOURT NATURE" not in html
    html = client.get("/files/articles?age=30").get_data(as_text=True)
    assert "STEAK HACHE" in html and "YAOURT NATURE" not in html


def test_pagination_keeps_filters(client, login_as, make, session, app, rule):
    site = make.site()
    login_as("canteen", sites=[site])
    per_page = app.config["PAGE_SIZE"]
    for i in range(per_page + 3):
        _anomaly(
            make, make.purchase_line(site, label=f"ARTICLE {i:03d}"), days_old=per_page + 3 - i
        )
    first = client.get("/files/articles").get_data(as_text=True)
    second = client.get("/files/articles?page=2").get_data(as_text=True)
    assert (
        "ARTICLE 000" in first
        and "ARTICLE 000" not in second
        and f"ARTICLE {per_page + 2:03d}" in second
    )


def test_direction_user_cannot_open_a_canteen_queue(client, login_as, rule):
    login_as("direction")
    assert client.get("/files/articles").status_code == 403
    assert client.get("/files/inconnue").status_code == 404
