"""The EGalim summary table: same figures as the lines, kept up to date by every change."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.indicators.test_published import lines  # noqa: F401 - fixture
from workbench.indicators import reports, summary
from workbench.indicators.queries import Filters
from workbench.review import operations

FIGURES = ("total_ht", "bio_ht", "egalim_ht", "excluded_lines", "excluded_ht", "local_ht",
           "regional_supplier_ht", "meat_fish_egalim_ht")  # fmt: skip


def _figures(session, filters):  # type: ignore[no-untyped-def]
    r = reports.egalim_report(session, None, filters, "53")
    return {k: r[k] for k in FIGURES} | {
        "including": r["including_excluded"]["total_ht"],
        "monthly": [(m["month"], m["total_ht"]) for m in r["monthly"]],
        "sites": [(s["site"], s["total_ht"], s["excluded_lines"]) for s in r["by_site"]],
    }


@pytest.mark.parametrize(
    "filters",
    [
        Filters(year=2025),
        Filters(year=2026),
        Filters(year=2025, until_month=6),
        Filters(year=2025, family="VIANDES_VOLAILLES"),
        Filters(year=2025, direction_code="DOUEST"),
    ],
)
def test_the_summary_gives_the_figures_of_the_lines(lines, session, filters):  # noqa: F811
    assert not summary.ensure(session, "53")
    live = _figures(session, filters)
    summary.rebuild_all(session, "53")
    assert summary.ensure(session, "53")
    assert _figures(session, filters) == live


def test_a_correction_updates_the_summary_in_its_transaction(lines, session, make):  # noqa: F811
    summary.rebuild_all(session, "53")
    canteen = make.user(role="canteen", sites=[lines["hve"].site])
    correction = operations.propose_correction(
        session, canteen, "purchase_line", lines["hve"].id, "labels", "BIO", "facture"
    )
    operations.decide(session, make.user(role="legal"), correction, True, "")
    assert summary.ensure(session, "53")  # still complete: served from the summary
    bio = session.scalar(
        sa.select(sa.func.sum(summary.TABLE.c.amount_ht)).where(
            summary.TABLE.c.category == "BIO", summary.TABLE.c.year == 2025
        )
    )
    assert bio == 100 + 50 + 1000 - 20  # the corrected line now counts as BIO
    r = reports.egalim_report(session, None, Filters(year=2025), "53")
    assert r["bio_ht"] == 150.0 and r["before"]["bio_ht"] == 100.0  # credit note now blocked


def test_lines_added_without_the_signal_fall_back_to_the_lines(lines, session, make):  # noqa: F811
    summary.rebuild_all(session, "53")
    make.purchase_line(lines["multi"].site, labels="BIO", family="AUTRES", amount_ht=1.0)
    assert not summary.ensure(session, "53")
    assert reports.egalim_report(session, None, Filters(year=2026), "53")["total_ht"] == 101.0


def test_an_import_builds_the_summary(session, make, tmp_path):
    from workbench.imports.operations import import_file

    make.site(uai="0350001A")
    path = tmp_path / "a.csv"
    path.write_text(
        "uai;date;siret_fournisseur;fournisseur;reference_article;libelle;quantite;unite;"
        "prix_ht;famille_produits;categories_egalim;origine;code_nomenclature\n"
        "0350001A;2025-02-01;;Laiterie;;YAOURT;1;kg;10;PRODUITS_LAITIERS;BIO;;\n"
        "0350001A;2025-02-02;;Boulanger;;PAIN;1;kg;30;BOULANGERIE;;;\n",
        encoding="utf-8",
    )
    assert import_file(session, "purchases", path).counts.inserted == 2
    assert summary.ensure(session, "53")
    r = reports.egalim_report(session, None, Filters(year=2025), "53")
    assert (r["total_ht"], r["bio_share"]) == (40.0, 0.25)


def test_blocked_lines_are_read_from_the_partial_index_whatever_the_statistics(session) -> None:  # type: ignore[no-untyped-def]
    """SQLite's sampled statistics (``analysis_limit``) rated ``ix_anomalies_record`` at a few
    hundred anomalies per kind on the regional demo: the blocked lines were then found by a
    seek on the kind in that index, walking all 380,000 anomalies of the kind (100 ms), rather
    than the 2,000 entries of the partial index of the blocking ones. No index can seek on the
    kind now: the partial index is read whole, whatever the statistics."""
    from workbench.indicators.queries import blocked_ids

    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's plan")
    stmt = blocked_ids("purchase_line")
    sql = str(stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    plan = " ".join(r[3] for r in session.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))
    assert "SCAN anomalies USING INDEX ix_anomalies_active_blocking" in plan, plan
    assert "record_kind=?" not in plan, plan


def test_closed_anomalies_are_read_from_their_partial_index(session, make) -> None:  # type: ignore[no-untyped-def]
    """The quality page's resolution times read the closed anomalies from
    ``ix_anomalies_closed`` (0.34 s scanning every anomaly at two million; 20 ms so)."""
    from workbench.indicators.queries import closed_anomalies, quality_frames

    site = make.site()
    anomalies = [make.anomaly(make.purchase_line(site)) for _ in range(3)]
    anomalies[0].status = "resolved"
    anomalies[0].closed_at = anomalies[0].first_seen_at
    session.flush()
    assert len(quality_frames(session).closed) == 1
    if session.get_bind().dialect.name != "sqlite":
        return
    sql = str(closed_anomalies().compile(session.get_bind()))
    plan = " ".join(r[3] for r in session.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))
    assert "COVERING INDEX ix_anomalies_closed" in plan, plan
