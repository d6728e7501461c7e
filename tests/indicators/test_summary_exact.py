"""The EGalim summary stays exact through every change: summary == fresh sums of the raw lines.

After an import, a mapping, a correction approval, an anomaly dismissal and a revert, the
stored summary rows equal what a rebuild computes from the lines, and the page figures served
from the summary equal the figures summed live from the lines (summary bypassed).
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.indicators.test_published import lines  # noqa: F401 - fixture
from workbench.imports.operations import import_file
from workbench.indicators import engine, queries, reports, summary
from workbench.indicators.queries import Filters
from workbench.matching import operations as matching
from workbench.records.models import PurchaseLine
from workbench.review import operations

FILTERS = (
    Filters(year=2025),
    Filters(year=2026),
    Filters(year=2025, until_month=6),
    Filters(year=2025, family="VIANDES_VOLAILLES"),
    Filters(year=2025, direction_code="DOUEST"),
    Filters(),
)


def _stored(session) -> list[tuple]:  # type: ignore[no-untyped-def]
    frame = summary.read(session, None, Filters())
    return sorted(
        (*(r[c] for c in queries.GROUP_COLUMNS), *(round(r[c], 6) for c in queries.SUM_COLUMNS))
        for r in frame.to_dict("records")
    )


def _fresh(session) -> list[tuple]:  # type: ignore[no-untyped-def]
    stmt = queries.grouped(queries.line_select("53"))
    result = session.execute(stmt)
    frame = engine.normalise_aggregate(
        __import__("pandas").DataFrame(result.all(), columns=list(result.keys())).assign(excluded=0)
    )
    return sorted(
        (*(r[c] for c in queries.GROUP_COLUMNS), *(round(r[c], 6) for c in queries.SUM_COLUMNS))
        for r in frame.to_dict("records")
    )


def _rows(session, stmt) -> list[tuple]:  # type: ignore[no-untyped-def]
    return sorted(
        tuple(round(v, 6) if isinstance(v, float) else v for v in row)
        for row in session.execute(stmt)
    )


def _rollups(session) -> tuple[list, list]:  # type: ignore[no-untyped-def]
    site, kind = summary.BY_SITE, summary.BY_KIND
    return (
        _rows(session, sa.select(*site.c).where(site.c.lines != 0)),
        _rows(session, sa.select(*kind.c).where(kind.c.lines != 0)),
    )


def _rollups_of_summary(session) -> tuple[list, list]:  # type: ignore[no-untyped-def]
    t = summary.TABLE
    site_keys = [t.c.site_id, t.c.year, t.c.month]
    kind_keys = [t.c[k] for k in ("year", "month", "family", "category", "local_definition")]
    sums = [sa.func.sum(t.c[n]) for n in queries.SUM_COLUMNS]
    return (
        _rows(session, sa.select(*site_keys, *summary._parts_columns(t)).group_by(*site_keys)),
        _rows(session, sa.select(*kind_keys, *sums).group_by(*kind_keys)),
    )


def _report(session, filters, site_id=None):  # type: ignore[no-untyped-def]
    if site_id is not None:
        filters = Filters(**{**filters.__dict__, "site_id": site_id})
    r = reports.egalim_report(session, None, filters, "53")
    r.pop("computed_at")
    return r


def assert_exact(session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The summary is complete and equals the lines; every view equals its live computation."""
    assert summary.ensure(session, "53"), "the summary should still serve the pages"
    assert _stored(session) == _fresh(session)
    assert _rollups(session) == _rollups_of_summary(session)
    site_ids = session.scalars(sa.select(PurchaseLine.site_id).distinct()).all()
    served = [_report(session, f) for f in FILTERS] + [
        _report(session, Filters(year=2025), s) for s in site_ids
    ]
    with monkeypatch.context() as patch:
        patch.setattr(summary, "ensure", lambda *_: False)  # summed live from the lines
        live = [_report(session, f) for f in FILTERS] + [
            _report(session, Filters(year=2025), s) for s in site_ids
        ]
    assert served == live


@pytest.fixture
def built(lines, session):  # noqa: F811
    summary.rebuild_all(session, "53")
    return lines


def test_after_an_import(built, session, tmp_path, monkeypatch):
    path = tmp_path / "a.csv"
    path.write_text(
        "uai;date;siret_fournisseur;fournisseur;reference_article;libelle;quantite;unite;"
        "prix_ht;famille_produits;categories_egalim;origine;code_nomenclature\n"
        "0350001A;2025-02-01;;Laiterie;;YAOURT;1;kg;10;PRODUITS_LAITIERS;BIO;;\n"
        "0350002B;2025-08-02;;Boulanger;;PAIN;1;kg;30;BOULANGERIE;LABEL_ROUGE;FRANCE;\n"
        "0350002B;2026-01-03;;Boucher;;STEAK;1;kg;70;VIANDES_VOLAILLES;;;\n",
        encoding="utf-8",
    )
    assert import_file(session, "purchases", path).counts.inserted == 3
    assert_exact(session, monkeypatch)


def test_after_a_mapping(built, session, make, monkeypatch):
    make.nomenclature_item(code="T-VIANDE", label="Viande", family="VIANDES_VOLAILLES")
    site = built["hve"].site
    supplier = make.supplier(siret="55204599900877")
    for _ in range(3):
        make.purchase_line(
            site, label="STEAK", supplier=supplier, reference="R9", family="AUTRES",
            labels="LABEL_ROUGE", line_date=dt.date(2025, 4, 1), amount_ht=33.0,
        )  # fmt: skip
    summary.rebuild_all(session, "53")  # lines made by the factory bypass the signal
    user = make.user(role="canteen", sites=[site])
    matching.map_group(session, user, f"ref:{supplier.siret}|R9", "T-VIANDE")
    assert_exact(session, monkeypatch)
    r = reports.egalim_report(session, None, Filters(year=2025), "53")
    meat = {f["family"]: f for f in r["by_family"]}["VIANDES_VOLAILLES"]
    assert meat["total_ht"] == 100 + 99


def test_after_a_correction_approval_and_its_revert(built, session, make, monkeypatch):
    canteen = make.user(role="canteen", sites=[built["hve"].site])
    legal = make.user(role="legal")
    hve_before = {r["site_id"]: r for r in _report(session, Filters(year=2025))["by_site"]}
    correction = operations.propose_correction(
        session, canteen, "purchase_line", built["hve"].id, "amount_ht", "75", "facture"
    )
    operations.decide(session, legal, correction, True, "")
    assert_exact(session, monkeypatch)
    assert (
        _report(session, Filters(year=2025))["before"]["total_ht"]
        != _report(session, Filters(year=2025))["total_ht"]
    )
    revert = operations.revert_correction(session, canteen, correction, "mauvaise facture")
    if revert.status != "applied":
        operations.decide(session, legal, revert, True, "")
    assert_exact(session, monkeypatch)
    hve_after = {r["site_id"]: r for r in _report(session, Filters(year=2025))["by_site"]}
    site = built["hve"].site_id
    assert hve_after[site]["including_excluded"] == hve_before[site]["including_excluded"]


def test_after_an_anomaly_dismissal(built, session, make, monkeypatch):
    from workbench.rules.models import Anomaly

    anomaly = session.scalars(
        sa.select(Anomaly).where(Anomaly.record_id == built["blocked"].id)
    ).one()
    before = _report(session, Filters(year=2025))
    assert before["excluded_lines"] == 1
    legal = make.user(role="legal")
    proposal = operations.dismiss_anomaly(
        session, make.user(role="admin"), anomaly, "accepted_exception", "facture vérifiée"
    )
    if proposal is not None and proposal.status == "pending":
        operations.decide(session, legal, proposal, True, "")
    assert_exact(session, monkeypatch)
    after = _report(session, Filters(year=2025))
    assert after["excluded_lines"] == 0
    assert after["total_ht"] == before["total_ht"] + 1000
