"""Indicator pages: before/after corrections, scope, roles."""

from __future__ import annotations

from workbench.review import operations


def test_egalim_page_shows_the_effect_of_a_correction(client, login_as, make, session):
    site = make.site(name="Lycée Test EGalim")
    user = login_as("canteen", sites=[site])
    make.purchase_line(site, labels="BIO", amount_ht=100.0, family="AUTRES")
    wrong = make.purchase_line(site, labels="", amount_ht=100.0, family="AUTRES")
    html = client.get("/indicateurs").get_data(as_text=True)
    assert "Lycée Test EGalim" in html and "50,0" in html
    correction = operations.propose_correction(
        session, user, "purchase_line", wrong.id, "labels", "BIO", "facture"
    )
    legal = make.user(role="legal")
    operations.decide(session, legal, correction, True, "")
    html = client.get("/indicateurs").get_data(as_text=True)
    assert "100,0" in html and "avant : 50,0" in html


def test_canteen_user_sees_only_its_lycees(client, login_as, make):
    own, other = make.site(name="Mon lycée"), make.site(name="Autre lycée")
    login_as("canteen", sites=[own])
    make.purchase_line(own)
    make.purchase_line(other)
    html = client.get("/indicateurs").get_data(as_text=True)
    assert "Mon lycée" in html and "Autre lycée" not in html
    assert client.get("/indicateurs/marches").status_code == 403


def test_spaser_and_quality_pages_for_the_viewer(client, login_as, make):
    login_as("viewer")
    make.supplier(siret="55204599900869", company_category="PME", commune_code="35238")
    make.contract(social_considerations=["Clause sociale"])
    html = client.get("/indicateurs/marches").get_data(as_text=True)
    assert "Attribués à une PME" in html and "100,0" in html
    assert client.get("/indicateurs/qualite").status_code == 200


# -- per year, exclusion policy, charts and CSV ---------------------------------------------------
def _page_lines(make):  # type: ignore[no-untyped-def]
    import datetime as dt

    site = make.site(name="Lycée Graphes")
    make.purchase_line(site, labels="BIO", amount_ht=100.0, line_date=dt.date(2025, 1, 5))
    make.purchase_line(site, labels="", amount_ht=300.0, line_date=dt.date(2025, 2, 5))
    blocked = make.purchase_line(site, labels="BIO", amount_ht=600.0, line_date=dt.date(2025, 2, 6))
    make.anomaly(blocked, rule_code="PURCHASE_AMOUNT_INVALID", severity="blocking")
    make.purchase_line(site, labels="BIO", amount_ht=50.0, line_date=dt.date(2024, 6, 1))
    return site


def test_egalim_page_per_year_with_charts_exclusion_and_csv_links(client, login_as, make):
    _page_lines(make)
    login_as("admin")
    html = client.get("/indicateurs?annee=2025").get_data(as_text=True)
    assert 'class="gauge"' in html and "<polyline" in html  # gauges and the monthly trend
    assert 'data-excluded="1"' in html and "600,00" in html  # count and amount left out
    assert "/files/purchases?gravite=blocking" in html  # the queue that holds them
    assert "25,0" in html and "70,0" in html  # published 100/400; including 700/1000
    assert "/indicateurs/egalim.csv?annee=2025" in html
    assert "detail=mensuel" in html and "detail=lycees" in html
    html_2024 = client.get("/indicateurs?annee=2024").get_data(as_text=True)
    assert 'data-excluded="0"' in html_2024 and "100,0" in html_2024


def test_viewer_downloads_indicator_csvs_and_the_open_data_export(client, login_as, make):
    import csv
    import io

    _page_lines(make)
    make.contract(social_considerations=["Clause sociale"])
    login_as("viewer")
    text = client.get("/indicateurs/egalim.csv?annee=2025").get_data(as_text=True).lstrip("\ufeff")
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert (row["total_ht"], row["bio_share"], row["excluded_lines"]) == ("400.0", "0.25", "1")
    assert row["bio_share_including_excluded"] == "0.7"
    monthly = client.get("/indicateurs/egalim.csv?annee=2025&detail=mensuel").get_data(as_text=True)
    assert len(list(csv.DictReader(io.StringIO(monthly.lstrip("\ufeff"))))) == 2
    html = client.get("/indicateurs?annee=2025").get_data(as_text=True)
    assert "/files/purchases" not in html  # the viewer has no queue: no link
    spaser = client.get("/indicateurs/spaser.csv?annee=2025")
    assert spaser.status_code == 200 and "is_social" in spaser.get_data(as_text=True)
    assert client.get("/exports/marches-decp-v2.json").status_code == 200
    assert client.get("/exports").status_code == 200
    assert client.get("/exports/achats.csv").status_code == 403


def test_public_observatory_is_off_by_default_and_needs_no_login_when_on(client, make, app):
    _page_lines(make)
    assert client.get("/observatoire").status_code == 404
    app.config["PUBLIC_OBSERVATORY"] = True
    try:
        response = client.get("/observatoire")
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert 'data-year="2025"' in html and 'data-year="2024"' in html
        assert "25,0" in html and "Chiffres calculés le" in html
        assert "70,0" not in html  # only the published figure, not the one including exclusions
        text = client.get("/observatoire/egalim.csv").get_data(as_text=True)
        assert "computed_at" in text and "including" not in text
        assert client.get("/observatoire/marches-decp-v2.json").status_code == 200
        assert client.get("/observatoire/spaser.csv").status_code == 200
    finally:
        app.config["PUBLIC_OBSERVATORY"] = False


def test_the_quality_page_reads_grouped_counts_and_finds_what_every_row_gives(
    client, login_as, make, session, app
):  # type: ignore[no-untyped-def]
    """The page's figures come from ``anomaly_counts`` and per-day groups; they are those of the
    pure functions over every anomaly row (the reference computation)."""
    import datetime as dt

    import pandas as pd
    import sqlalchemy as sa
    from flask import template_rendered

    from workbench.indicators import quality
    from workbench.indicators.queries import site_line_counts
    from workbench.rules.models import Anomaly

    login_as("viewer")
    now = dt.datetime.now(dt.UTC)
    first, second = make.site(name="Lycée Un"), make.site(name="Lycée Deux")
    for site, n in ((first, 3), (second, 1)):
        for _ in range(n):
            make.anomaly(make.purchase_line(site), rule_code="ARTICLE_UNMAPPED", days_old=3)
    closed = make.anomaly(make.purchase_line(first), rule_code="PURCHASE_DUPLICATE", days_old=9)
    closed.status, closed.closed_at = "resolved", now - dt.timedelta(days=2)
    make.anomaly(make.contract(), rule_code="CPV_UNKNOWN", status="claimed", days_old=20)
    session.flush()
    seen = []

    def rendered(sender, template, context, **_):  # type: ignore[no-untyped-def]
        seen.append(context)

    with template_rendered.connected_to(rendered, app):
        assert client.get("/indicateurs/qualite").status_code == 200
    context = seen[-1]

    rows = pd.DataFrame(
        session.execute(
            sa.select(
                Anomaly.rule_code,
                Anomaly.status,
                Anomaly.site_id,
                Anomaly.first_seen_at,
                Anomaly.closed_at,
            )
        ).all(),
        columns=["rule_code", "status", "site_id", "first_seen_at", "closed_at"],
    )
    assert context["total_open"] == 5
    expected_rules = quality.by_rule(rows).to_dict("records")
    assert [(r["rule_code"], r["open"]) for r in context["rules"]] == [
        (r["rule_code"], r["open"]) for r in expected_rules
    ]
    expected_sites = quality.per_thousand(rows, site_line_counts(session), "site_id")
    assert [(s["name"], s["open"], s["per_thousand"]) for s in context["sites"]] == [
        (s.name, s.open, s.per_thousand) for s in expected_sites.itertuples()
    ]
    assert context["median_days"] == quality.median_resolution_days(rows) == 7.0
    expected_trend = quality.weekly_trend(rows).to_dict("records")
    assert context["trend"] == expected_trend and sum(t["opened"] for t in expected_trend) == 6


def test_lines_per_lycee_from_the_summary_are_the_live_count(make, session):  # type: ignore[no-untyped-def]
    from workbench.indicators import queries, summary

    first, second = make.site(name="Lycée Un"), make.site(name="Lycée Deux")
    make.site(name="Lycée sans ligne")
    for site, n in ((first, 3), (second, 2)):
        for _ in range(n):
            make.purchase_line(site)
    live = queries.site_line_counts(session).sort_values("site_id").to_dict("records")
    assert not summary.ensure(session, summary._region_code())  # lines made without the signal
    summary.rebuild_all(session)
    assert summary.ensure(session, summary._region_code())
    rolled = queries.site_line_counts(session).sort_values("site_id").to_dict("records")
    assert rolled == live and sorted(r["records"] for r in live) == [0, 2, 3]
