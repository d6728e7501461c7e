"""A line view sorted by « Champ » follows the French labels the page shows, not the internal
field names: the database's ``field_order`` gives, for every kind of record, what
``field_sort_key`` gives in Python."""

from __future__ import annotations

import re

import sqlalchemy as sa

from workbench.review.labels import field_label, field_sort_key, rule_sort_key
from workbench.review.queries import QueueFilter, field_order, queue_page, rule_order
from workbench.rules.models import Anomaly

#: (rule, field) of four record kinds: labelled fields, a field labelled for another kind only,
#: a holder's identifier and an unknown column (their names), the whole record (``''``).
FIELDS = {
    "ARTICLE_UNMAPPED": ("amount_ht", "labels", "nomenclature_code", "origin", "reference", ""),
    "SIRET_INVALID": ("siret", "company_category", "direction_code", "label"),
    "DECP_SCHEMA_ERROR": ("dureeMois", "titulaires[0].id", "Zone_Nouvelle", "amount", ""),
    "MATRIX_REPORTED": ("unit_price", "labels", "origin"),
}


def test_the_database_orders_fields_as_the_labels_read(session, make) -> None:  # type: ignore[no-untyped-def]
    site, supplier = make.site(), make.supplier()
    records = {
        "ARTICLE_UNMAPPED": make.purchase_line(site, supplier=supplier),
        "SIRET_INVALID": supplier,
        "DECP_SCHEMA_ERROR": make.contract(),
        "MATRIX_REPORTED": make.matrix_entry(supplier),
    }
    made = [
        make.anomaly(records[code], code, field=field)
        for code, fields in FIELDS.items()
        for field in fields
    ]
    session.flush()
    for codes in (list(FIELDS), ["ARTICLE_UNMAPPED"], ["SIRET_INVALID", "DECP_SCHEMA_ERROR"]):
        rows = session.execute(
            sa.select(Anomaly.id, field_order(codes)).where(Anomaly.rule_code.in_(codes))
        ).all()
        keys = dict(rows)
        expected = {a.id: field_sort_key(a.record_kind, a.field) for a in made if a.id in keys}
        assert keys == expected and len(keys) == sum(len(FIELDS[c]) for c in codes), codes
    # the purchase lines' fields in the order of their labels (their names order them otherwise)
    line_fields = [field_label("purchase_line", f) for f in sorted(FIELDS["ARTICLE_UNMAPPED"])[1:]]
    assert line_fields != sorted(line_fields)
    by_key = sorted(FIELDS["ARTICLE_UNMAPPED"], key=lambda f: field_sort_key("purchase_line", f))
    assert by_key == ["", "nomenclature_code", "labels", "amount_ht", "origin", "reference"]
    assert field_sort_key("contract", "dureeMois") == "duree (mois)"  # no accent, no case


def test_a_queue_sorted_by_field_shows_the_labels_in_order(session, make) -> None:  # type: ignore[no-untyped-def]
    site, supplier = make.site(), make.supplier()
    for field in FIELDS["ARTICLE_UNMAPPED"]:
        make.anomaly(make.purchase_line(site, supplier=supplier), "ARTICLE_UNMAPPED", field=field)
    session.flush()
    admin = make.user(role="admin")
    for sort, reverse in (("champ", False), ("-champ", True)):
        rows, total = queue_page(session, admin, "articles", QueueFilter(), 1, 50, sort=sort)
        shown = [field_sort_key(a.record_kind, a.field) for a in rows]
        assert int(total) == len(rows) == 6
        assert shown == sorted(shown, reverse=reverse), sort


def test_the_filter_form_keeps_and_shows_the_sort_a_header_chose(client, login_as, make) -> None:  # type: ignore[no-untyped-def]
    from workbench.review.views import LINE_SORTS

    site, supplier = make.site(), make.supplier()
    for field in FIELDS["ARTICLE_UNMAPPED"]:
        make.anomaly(make.purchase_line(site, supplier=supplier), "ARTICLE_UNMAPPED", field=field)
    login_as("admin")

    def selected(url: str) -> list[str]:
        html = client.get(url).get_data(as_text=True)
        form = html[
            html.index('<select name="ordre">') : html.index(
                "</select>", html.index('<select name="ordre">')
            )
        ]
        return re.findall(r'<option value="([^"]*)" selected', form)

    # a header's sort is the form's: filtering (the form sent) keeps it
    assert selected("/files/articles?ordre=-champ") == ["-champ"]
    assert selected("/files/articles?ordre=-champ&regle=ARTICLE_UNMAPPED") == ["-champ"]
    assert selected("/files/articles?tri=recent") == ["-depuis"]  # links of earlier versions
    assert selected("/files/articles") == selected("/files/articles?ordre=depuis") == [""]
    # every order the form offers is one the view knows, and sorts the page
    from workbench.review.queries import SORT_COLUMNS

    assert {k.lstrip("-") for k in LINE_SORTS if k} <= set(SORT_COLUMNS)
    for key in LINE_SORTS:
        assert client.get(f"/files/articles?ordre={key}").status_code == 200


def test_a_queue_sorted_by_rule_follows_the_titles(session, make) -> None:  # type: ignore[no-untyped-def]
    # « Fournisseur inconnu… » < « Ligne d'achat en double » < « Mention d'origine… »: the
    # codes sort the other way round (FAUX_AMI_ORIGIN < PURCHASE_DUPLICATE < SUPPLIER_UNKNOWN)
    codes = ["FAUX_AMI_ORIGIN", "PURCHASE_DUPLICATE", "SUPPLIER_UNKNOWN"]
    assert rule_order(codes) == ["SUPPLIER_UNKNOWN", "PURCHASE_DUPLICATE", "FAUX_AMI_ORIGIN"]
    sites = [make.site(), make.site()]
    made = []
    for n in range(14):
        line = make.purchase_line(sites[n % 2])
        made.append(make.anomaly(line, codes[n % 3], field="label", days_old=n % 4))
    for anomaly in made[:3]:
        anomaly.status, anomaly.dismiss_reason = "dismissed", "other"
    session.flush()
    admin = make.user(role="admin")
    canteen = make.user(role="canteen", sites=sites)
    for user, filt in (
        (admin, QueueFilter()),
        (canteen, QueueFilter()),
        (admin, QueueFilter(status="dismissed")),
    ):
        shown = [a for a in made if (a.status == "dismissed") == (filt.status == "dismissed")]
        for sort in ("regle", "-regle"):
            expected = [
                a.id
                for a in sorted(
                    shown,
                    key=lambda a: (rule_sort_key(a.rule_code), a.first_seen_at, a.id),
                    reverse=sort.startswith("-"),
                )
            ]
            seen = []
            for page in range(1, 6):
                rows, total = queue_page(session, user, "purchases", filt, page, 3, sort=sort)
                seen += [a.id for a in rows]
                assert int(total) == len(shown)
            assert seen == expected, (user.role, filt, sort)
