"""Exports their targets accept: re-import gives 0 errors and no change; CLI files; withheld lists."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from workbench.exports import decp
from workbench.imports.operations import import_file
from workbench.records.models import Contract, PurchaseLine

UAI, SIRET, CANTEEN_SIRET = "0350001A", "55204599900869", "19350029700014"
EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "marches_avec_modifications.json"
SHARED_SCHEMA = Path("/work/shared/data/decp/v2/schema_decp_v2.0.3.json")

CANONICAL = (
    "uai;date;siret_fournisseur;fournisseur;reference_article;libelle;quantite;unite;prix_ht;"
    "famille_produits;categories_egalim;origine;code_nomenclature\n"
    f"{UAI};02/03/2026;{SIRET};Laiterie;YA125;YAOURT NAT BIO 125G X48;48;pièce;21,60;"
    "PRODUITS_LAITIERS;Bio, IGP;France;N1\n"
    f"{UAI};2026-03-02;{SIRET};Laiterie;BF15;STEAK HACHE 15% VBF;10,5;kg;95.5;VIANDES_VOLAILLES;;UE;\n"
    f"{UAI};2026-03-03;;Maraîcher;;PDT GT LAVEE SAC 10KG;1;sac;-12;FRUITS_ET_LEGUMES;AB, LR;;\n"
)
MACANTINE = (
    "siret,description,fournisseur,date,prix_ht,famille_produits,categories_egalim,origine,"
    "est_circuit_court,est_local,definition_local,definition_local_km\n"
    f'{CANTEEN_SIRET},"Pommes, rouges",Le bon traiteur,2025-05-02,90.11,FRUITS_ET_LEGUMES,'
    "BIO,FRANCE,,x,DEPARTEMENT,\n"
    f"{CANTEEN_SIRET},Avoir pommes,Le bon traiteur,2025-05-03,-50.00,FRUITS_ET_LEGUMES,,,x,x,KM,30\n"
    f"{CANTEEN_SIRET},Saumon,Marée,2025-06-01,120,PRODUITS_DE_LA_MER,"
    "IGP,EUROPE,,,,\n"
)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _values(session, model, columns):  # type: ignore[no-untyped-def]
    return sorted(
        tuple(getattr(row, c) for c in columns) for row in session.scalars(sa.select(model))
    )


LINE_COLUMNS = (
    "site_id", "line_date", "supplier_siret", "supplier_name", "reference", "label", "quantity",
    "unit", "amount_ht", "family", "labels", "origin", "nomenclature_code", "is_short_circuit",
    "is_local", "local_definition", "local_km",
)  # fmt: skip


@pytest.fixture
def cli(app):  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()

    def run(*args: str) -> str:
        result = runner.invoke(args=list(args))
        assert result.exit_code == 0, result.output
        return result.output

    return run


def _no_change(result) -> None:  # type: ignore[no-untyped-def]
    assert result.status == "applied", result.report.problems
    assert not result.report.has_errors
    assert (result.counts.inserted, result.counts.updated) == (0, 0)


def test_canonical_round_trip(session, make, tmp_path, cli):
    make.site(uai=UAI)
    make.supplier(siret=SIRET)
    source = tmp_path / "achats.csv"
    source.write_text(CANONICAL, encoding="utf-8")
    assert import_file(session, "purchases", source).counts.inserted == 3
    before = _values(session, PurchaseLine, LINE_COLUMNS)
    out = tmp_path / "export.csv"
    assert "3 ligne(s)" in cli("export", "purchases", "-o", str(out))
    rows = _read(out)
    by_label = {r["libelle"]: r for r in rows}
    assert by_label["PDT GT LAVEE SAC 10KG"]["prix_ht"] == "-12.00"  # a number: never guarded
    result = import_file(session, "purchases", out)
    _no_change(result)
    assert result.counts.unchanged == 3
    assert _values(session, PurchaseLine, LINE_COLUMNS) == before


def test_macantine_round_trip_keeps_local_definition_and_credit_notes(session, make, tmp_path, cli):
    make.site(uai=UAI, siret=CANTEEN_SIRET)
    source = tmp_path / "ma-cantine.csv"
    source.write_text(MACANTINE, encoding="utf-8")
    first = import_file(session, "purchases", source, site_uai=UAI)
    assert first.counts.inserted == 3, first.report.problems
    local = session.scalars(sa.select(PurchaseLine).where(PurchaseLine.local_km.is_not(None))).one()
    assert (local.local_definition, local.local_km, local.amount_ht) == ("KM", 30.0, -50.0)
    before = _values(session, PurchaseLine, LINE_COLUMNS)
    out = tmp_path / "export.csv"
    cli("export", "purchases", "-o", str(out), "--format", "macantine", "--site", UAI)
    rows = sorted(_read(out), key=lambda r: r["date"])
    assert [r["prix_ht"] for r in rows] == ["90.11", "-50.00", "120.00"]
    assert [r["definition_local"] for r in rows] == ["DEPARTEMENT", "KM", ""]
    assert rows[1]["definition_local_km"] == "30.00" and rows[2]["origine"] == "EUROPE"
    result = import_file(session, "purchases", out, site_uai=UAI)
    _no_change(result)
    assert result.counts.unchanged == 3
    assert _values(session, PurchaseLine, LINE_COLUMNS) == before


def test_macantine_export_maps_origins_and_withholds_lycees_without_siret(
    session, make, tmp_path, cli, client, login_as
):
    with_siret = make.site(uai=UAI, siret=CANTEEN_SIRET, name="Lycée avec SIRET")
    without = make.site(uai="0290002B", name="Lycée sans SIRET")
    make.purchase_line(with_siret, origin="UE", labels="BIO,FRANCE", family="AUTRES")
    make.purchase_line(with_siret, origin="ESPAGNE", labels="", family="INCONNUE")
    make.purchase_line(with_siret, label="LOCAL SANS DEFINITION", is_local=True, family="AUTRES")
    make.purchase_line(without, family="AUTRES")
    out = tmp_path / "mc.csv"
    output = cli("export", "purchases", "-o", str(out), "--format", "macantine")
    assert "Lycée sans SIRET (0290002B)" in output and "pas de SIRET" in output
    assert "sans définition" in output
    rows = _read(out)
    assert sorted((r["origine"], r["categories_egalim"], r["famille_produits"]) for r in rows) == [
        ("", "", "AUTRES"),
        ("EUROPE", "BIO", "AUTRES"),
    ]
    login_as("admin")
    html = client.get("/exports").get_data(as_text=True)
    assert "Lycée sans SIRET" in html and 'data-sites-without-siret="1"' in html
    response = client.get("/exports/achats-ma-cantine.csv")
    assert response.headers["X-Workbench-Withheld"] == "2"
    body = response.get_data(as_text=True)  # consume the stream (it holds the app context)
    assert body.count("\n") == 3 and "Lycée sans SIRET" not in body


def test_decp_export_accounts_for_every_contract_and_round_trips(session, make, tmp_path, cli):
    imported = import_file(session, "contracts", EXAMPLE)
    assert imported.status == "applied", imported.report.problems
    total = session.scalar(sa.select(sa.func.count()).select_from(Contract))
    out = tmp_path / "decp.json"
    output = cli("export", "decp", "-o", str(out))
    document = json.loads(out.read_text(encoding="utf-8"))
    schema = json.loads(SHARED_SCHEMA.read_text(encoding="utf-8"))
    from jsonschema import Draft7Validator

    assert not list(Draft7Validator(schema).iter_errors(document))
    withheld = _read(tmp_path / "decp.withheld.csv")
    published = sum(len(v) for v in document["marches"].values())
    assert published + len(withheld) == total and f"({total} au total)" in output
    # the official examples fail blocking rules (SIRET checksum, dates): withheld by default
    assert withheld and all(w["motif"] == decp.REASON_BLOCKING for w in withheld)
    assert all(w["details"].startswith("CONTRACT_") for w in withheld)

    everything = tmp_path / "decp-all.json"
    cli("export", "decp", "-o", str(everything), "--include-blocked")
    document = json.loads(everything.read_text(encoding="utf-8"))
    assert not list(Draft7Validator(schema).iter_errors(document))
    assert sum(len(v) for v in document["marches"].values()) == total
    before = _values(session, Contract, ("buyer_id", "contract_id", "amount", "object"))
    again = import_file(session, "contracts", everything)
    _no_change(again)
    assert _values(session, Contract, ("buyer_id", "contract_id", "amount", "object")) == before


def test_decp_15_records_convert_where_their_content_allows(make, session):
    from workbench.exports import queries

    make.contract(contract_id="V15", source_format="decp_1.5", techniques=None)
    contracts, holders = queries.contract_rows(session, None)
    export = decp.build_export(contracts, holders, {})
    (entry,) = export.withheld
    assert entry["reason"] == decp.REASON_V15
    assert "champ obligatoire absent : techniques" in entry["errors"]
