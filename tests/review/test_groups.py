"""Anomaly queues grouped (same rule and same article, value or supplier) with bulk actions;
sortable columns; French rule titles and field labels."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from workbench.review.groups import grouped_queue
from workbench.review.models import Correction
from workbench.review.queries import QueueFilter
from workbench.rules.models import Anomaly


@pytest.fixture
def matrix_case(session, make):
    """Five lines claim BIO for one supplier article whose matrix says no label; one other."""
    site = make.site()
    canteen = make.user(role="canteen", sites=[site])
    supplier = make.supplier(name="Laiterie de l'Ouest")
    make.matrix_entry(supplier, reference="YA-1", labels="")
    lines = [
        make.purchase_line(site, supplier=supplier, reference="YA-1", labels="BIO")
        for _ in range(5)
    ]
    anomalies = [
        make.anomaly(
            line,
            "MATRIX_LABEL_MISMATCH",
            field="labels",
            value="BIO",
            supplier_id=supplier.id,
            group_key=f"ref:{supplier.siret}|YA-1",
            message="Label(s) déclaré(s) BIO absent(s) de la matrice fournisseur.",
        )
        for line in lines
    ]
    other = make.purchase_line(site, supplier=supplier, reference="ZZ-9", label="BEURRE")
    lone = make.anomaly(
        other,
        "MATRIX_ARTICLE_ABSENT",
        field="reference",
        value="ZZ-9",
        supplier_id=supplier.id,
        message="Article ZZ-9 absent de la matrice.",
    )
    return canteen, anomalies, lone


def test_groups_gather_one_rule_on_one_article(session, matrix_case):
    canteen, anomalies, lone = matrix_case
    groups, total = grouped_queue(session, canteen, "matrix", QueueFilter())
    assert total == 2
    first = groups[0]
    assert (first.rule_code, first.count, first.reference) == ("MATRIX_LABEL_MISMATCH", 5, "YA-1")
    assert groups[1].count == 1 and groups[1].supplier_name == "Laiterie de l'Ouest"


def test_grouped_page_is_french(client, session, matrix_case):
    canteen, _, _ = matrix_case
    client.login(canteen.email)
    html = client.get("/files/matrix?vue=groupes").get_data(as_text=True)
    text = re.sub(r"<[^>]+>", " ", html)
    assert "Label déclaré non confirmé par la matrice fournisseur" in text
    assert "Labels déclarés" in text and "Référence article fournisseur" in text
    assert "MATRIX_LABEL_MISMATCH" not in text  # only in a title attribute
    assert html.count('name="groupes"') == 2


def _post(client, canteen, action, tokens, **extra):
    client.login(canteen.email)
    client.get("/files/matrix?vue=groupes")
    return client.post_form(
        "/files/matrix/groupes",
        {"action": action, "groupes": tokens, **extra},
        follow_redirects=True,
    )


def test_claim_a_whole_group_at_once(client, session, matrix_case):
    canteen, anomalies, lone = matrix_case
    groups, _ = grouped_queue(session, canteen, "matrix", QueueFilter())
    html = _post(client, canteen, "claim", [groups[0].token]).get_data(as_text=True)
    assert "5 anomalie(s) prise(s) en charge" in html
    session.expire_all()
    assert {a.status for a in anomalies} == {"claimed"} and lone.status == "open"


def test_dismiss_a_group_needs_a_comment(client, session, matrix_case):
    canteen, anomalies, _ = matrix_case
    groups, _ = grouped_queue(session, canteen, "matrix", QueueFilter())
    token = groups[0].token
    html = _post(client, canteen, "dismiss", [token], reason_code="accepted_exception").get_data(
        as_text=True
    )
    assert "Un commentaire est obligatoire" in html
    session.expire_all()
    assert {a.status for a in anomalies} == {"open"}
    html = _post(
        client,
        canteen,
        "dismiss",
        [token],
        reason_code="accepted_exception",
        comment="Certificat AB fourni",
    ).get_data(as_text=True)
    assert "5 anomalie(s) écartée(s)" in html
    session.expire_all()
    assert {a.status for a in anomalies} == {"dismissed"}
    assert {a.dismiss_comment for a in anomalies} == {"Certificat AB fourni"}


def test_accept_the_matrix_value_for_a_group(client, session, matrix_case):
    canteen, anomalies, lone = matrix_case
    groups, _ = grouped_queue(session, canteen, "matrix", QueueFilter())
    tokens = [g.token for g in groups]
    html = _post(client, canteen, "matrix", tokens).get_data(as_text=True)
    assert "5 anomalie(s) corrigée(s) avec la valeur de la matrice" in html
    assert "dont 5 en attente de validation juridique" in html
    assert "1 non traitée(s) : Cette anomalie ne se corrige pas par la matrice" in html
    pending = session.scalars(sa.select(Correction).where(Correction.status == "pending")).all()
    assert len(pending) == 5 and {c.new_value for c in pending} == {""}


def test_a_forged_group_outside_my_scope_touches_nothing(client, session, make, matrix_case):
    canteen, anomalies, _ = matrix_case
    elsewhere = make.site()
    line = make.purchase_line(elsewhere, labels="BIO")
    foreign = make.anomaly(line, "MATRIX_LABEL_MISMATCH", field="labels", value="BIO")
    html = _post(client, canteen, "claim", ["MATRIX_LABEL_MISMATCH|BIO@"]).get_data(as_text=True)
    assert "Aucun groupe sélectionné" in html
    session.expire_all()
    assert foreign.status == "open"


def test_legal_reads_groups_but_cannot_act(client, login_as, matrix_case):
    login_as("legal")
    html = client.get("/files/matrix?vue=groupes").get_data(as_text=True)
    assert 'name="groupes"' not in html
    client.get("/")
    assert client.post_form("/files/matrix/groupes", {"action": "claim"}).status_code == 403


def test_columns_sort_both_ways(client, session, make, matrix_case):
    canteen, anomalies, lone = matrix_case
    client.login(canteen.email)
    up_page = client.get("/files/matrix?ordre=regle").get_data(as_text=True)
    up = up_page.split("<tbody>")[1]
    down = client.get("/files/matrix?ordre=-regle").get_data(as_text=True).split("<tbody>")[1]
    absent, mismatch = "Article absent", "Label déclaré non confirmé"
    assert up.index(absent) < up.index(mismatch)  # MATRIX_ARTICLE_ABSENT < MATRIX_LABEL_…
    assert down.index(mismatch) < down.index(absent)
    assert "ordre=-regle" in up_page  # the header link now sorts the other way
    assert session.scalar(sa.select(sa.func.count()).select_from(Anomaly)) == 6


def test_the_python_token_matches_the_sql_grouping(session, matrix_case):
    from workbench.review.groups import group_token

    canteen, anomalies, lone = matrix_case
    groups, _ = grouped_queue(session, canteen, "matrix", QueueFilter())
    assert {g.token for g in groups} == {group_token(anomalies[0]), group_token(lone)}


@pytest.mark.parametrize(
    ("severities", "worst"),
    [
        (("warning", "info"), "warning"),
        (("info", "blocking"), "blocking"),
        (("warning", "blocking", "info"), "blocking"),
        (("info", "info"), "info"),
    ],
)
@pytest.mark.parametrize("who", ["canteen", "admin"])
def test_a_group_shows_its_gravest_severity(session, make, matrix_case, severities, worst, who):
    """Not the first code in alphabetical order (« info » before « warning »): the worst, both
    when the group is computed from its anomalies (a canteen's scope) and when it is read from
    the maintained groups (region-wide)."""
    canteen, anomalies, _ = matrix_case
    for anomaly, severity in zip(anomalies, severities, strict=False):
        anomaly.severity = severity
    for anomaly in anomalies[len(severities) :]:
        anomaly.severity = severities[-1]
    session.commit()
    user = canteen if who == "canteen" else make.user(role="admin")
    groups, _ = grouped_queue(session, user, "matrix", QueueFilter())
    (group,) = [g for g in groups if g.rule_code == "MATRIX_LABEL_MISMATCH"]
    assert (group.count, group.severity) == (5, worst)
