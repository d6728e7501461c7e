"""Contracts (every DECP example), suppliers, matrices, nomenclature and sites."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.imports.conftest import SIRET
from workbench.imports.operations import import_file
from workbench.records.models import Contract, ContractHolder, ContractModification
from workbench.reference.models import MatrixEntry, NomenclatureItem, Site, Supplier
from workbench.review.models import Correction

DECP = Path("/work/shared/data/decp")
if not DECP.exists():  # pragma: no cover
    DECP = Path(__file__).resolve().parents[3] / "shared" / "data" / "decp"
DECP_FILES = sorted(
    [*DECP.glob("v2/exemples/*.json"), *DECP.glob("v1.5/exemples/*.json"), *DECP.glob("*.csv")]
)


@pytest.mark.parametrize("path", DECP_FILES, ids=lambda p: p.name)
def test_every_shared_decp_example_imports(session, make, path):
    make.direction("DLYC", cpv_divisions="79")
    result = import_file(session, "contracts", str(path))
    assert result.status == "applied", result.report.problems
    assert result.counts.inserted >= 1
    contracts = session.scalars(sa.select(Contract)).all()
    assert all(c.raw and c.source_format == result.file_format for c in contracts)
    assert all(c.holders for c in contracts)


def test_v2_contract_fields_holders_and_modifications_are_read(session):
    result = import_file(
        session, "contracts", str(DECP / "v2/exemples/marches_avec_modifications.json")
    )
    assert result.file_format == "decp_v2"
    contract = session.scalar(sa.select(Contract).where(Contract.contract_id == "TEST2022"))
    assert contract.buyer_id == "21750001630066" and contract.cpv_code == "45000000-7"
    assert contract.amount == 575000 and contract.duration_months == 48
    assert contract.social_considerations == ["Clause sociale", "Critère social"]
    assert contract.techniques == ["Concours", "Accord-cadre"]
    assert contract.schema_errors == []
    roles = [(h.role, h.identifier) for h in contract.holders]
    assert ("holder", "55204599900869") in roles and ("subcontractor", "214356") in roles
    (modification,) = contract.modifications
    assert (
        modification.amount == 123457.87
        and modification.holders[0]["identifier"] == "868768687576575"
    )


def test_flat_csv_versions_of_one_contract_are_one_contract_with_a_modification(session, make):
    make.direction("DCOM", cpv_divisions="79,80")
    result = import_file(session, "contracts", str(DECP / "decp-table-exemple-valide.csv"))
    assert result.counts.inserted == 1 and result.row_count == 2  # 2 versions read, 1 contract
    (contract,) = session.scalars(sa.select(Contract)).all()
    assert contract.contract_id == "2019000564623"  # …00 initial, …01 after modification 1
    assert [h.identifier for h in contract.holders] == ["81223113200034", "82379887100013"]
    assert [h.name for h in contract.holders] == ["Colin Maudry", "Datactivist"]
    assert contract.direction_code == "DCOM" and contract.has_advance is True
    assert contract.source_format == "decp_csv" and len(contract.raw["rows"]) == 4
    assert contract.duration_months == 3 and contract.current_duration_months == 6
    assert contract.amount == contract.current_amount == 21800.10
    (modification,) = contract.modifications
    assert modification.object == "Augmentation de la durée du marché à 6 mois."
    assert modification.notification_date.isoformat() == "2019-05-30"
    assert [p["publication_date"] for p in contract.publications] == ["2019-04-29"]


def test_schema_invalid_but_usable_contract_is_imported_with_its_schema_errors(session, write):
    document = json.loads((DECP / "v2/exemples/marches_avec_modifications.json").read_text())
    marche = document["marches"]["marche"][0]
    marche["nature"] = "Marché bizarre"
    del marche["objet"]
    marche["champInconnu"] = 1
    result = import_file(session, "contracts", write("c.json", json.dumps(document)))
    assert result.status == "applied"
    contract = session.scalar(sa.select(Contract).where(Contract.contract_id == "TEST2022"))
    paths = {e["path"] for e in contract.schema_errors}
    messages = " ".join(e["message"] for e in contract.schema_errors)
    assert "nature" in paths and "objet" in messages and "champInconnu" in messages


def test_only_unidentifiable_contracts_are_refused_an_unreadable_date_is_kept_empty(session, write):
    document = {
        "marches": {
            "marche": [
                {"acheteur": {"id": "23350001600040"}, "montant": 10},
                {"id": "X1", "acheteur": {"id": "23350001600040"}, "dateNotification": "hier"},
                {"id": "X2", "montant": 10},
            ]
        }
    }
    result = import_file(session, "contracts", write("c.json", json.dumps(document)))
    assert result.status == "applied" and result.counts.inserted == 1
    problems = [(p["row"], p["column"], p["level"]) for p in result.report.problems]
    assert (1, "id", "error") in problems and (3, "acheteur.id", "error") in problems
    assert (2, "dateNotification", "warning") in problems
    assert "3 enregistrement(s) lu(s), 1 ajouté(s)" in result.message
    assert "2 refusé(s)" in result.message and "identifiant manquant : 1" in result.message
    (contract,) = session.scalars(sa.select(Contract)).all()
    assert contract.notification_date is None
    assert contract.value_errors == [
        {
            "field": "dateNotification",
            "raw": "hier",
            "message": "Date illisible (attendu aaaa-mm-jj ou jj/mm/aaaa).",
            "file": "c.json",
            "kind": "unreadable",
        }
    ]


def test_not_a_decp_file_is_one_clear_error(session, write):
    result = import_file(session, "contracts", write("c.json", '{"foo": []}'))
    assert result.status == "rejected" and len(result.report.problems) == 1
    assert "DECP" in result.report.problems[0]["message"]
    result = import_file(session, "contracts", write("d.json", "{pas du json"))
    assert "illisible" in result.report.problems[0]["message"]


def test_contract_holder_correction_survives_a_newer_extract(session, make, write):
    path = DECP / "v2/exemples/marches_avec_modifications.json"
    import_file(session, "contracts", str(path))
    contract = session.scalar(sa.select(Contract).where(Contract.contract_id == "TEST2022"))
    holder = next(h for h in contract.holders if h.role == "holder")
    user = make.user(role="direction")
    session.add(
        Correction(
            kind="edit",
            status="applied",
            record_kind="contract",
            record_id=contract.id,
            field="titulaires[0].id",
            old_value="55204599900869",
            new_value="21974022200019",
            reason="SIRET corrigé",
            proposed_by_id=user.id,
        )
    )
    holder.identifier = "21974022200019"
    session.flush()
    document = json.loads(path.read_text())
    document["marches"]["marche"][0]["montant"] = 600000
    result = import_file(session, "contracts", write("v2.json", json.dumps(document)))
    assert result.counts.updated == 1 and result.counts.conflicts == 0
    session.expire_all()
    contract = session.get(Contract, contract.id)
    assert contract.amount == 600000
    assert contract.holders[0].identifier == "21974022200019"
    assert session.scalar(sa.select(sa.func.count(ContractModification.id))) == 2
    assert session.scalar(sa.select(sa.func.count(ContractHolder.id))) == 4


def test_suppliers_from_a_sirene_extract_are_imported_and_an_invalid_siret_is_not_an_error(
    session, write
):
    text = (
        "siret;denominationUniteLegale;enseigne1Etablissement;categorieEntreprise;"
        "trancheEffectifsUniteLegale;codeCommuneEtablissement;economieSocialeSolidaireUniteLegale;"
        "activitePrincipaleEtablissement\n"
        "552 045 999 00869;LAITERIE DE L'OUEST;;PME;12;35238;N;10.51A\n"
        "12345678900023;;CHEZ PAUL;GE;NN;29019;O;56.10A\n"
    )
    result = import_file(session, "suppliers", write("sirene.csv", text))
    assert result.status == "applied", result.report.problems
    assert [p["level"] for p in result.report.problems] == ["warning"]
    first, second = session.scalars(sa.select(Supplier).order_by(Supplier.source_row)).all()
    assert first.siret == SIRET and first.name == "LAITERIE DE L'OUEST"
    assert first.company_category == "PME" and not first.is_ess
    assert second.siret == "12345678900023" and second.name == "CHEZ PAUL" and second.is_ess


def test_supplier_errors_unknown_category_duplicate_and_missing_name(session, write):
    text = (
        "siret;raison_sociale;categorie_entreprise\n"
        f"{SIRET};A;TPE\n{SIRET};B;PME\n55204599900877;;PME\n"
    )
    result = import_file(session, "suppliers", write("s.csv", text))
    assert result.status == "rejected"
    assert sorted(p["row"] for p in result.report.problems) == [2, 3, 4]


def test_supplier_update_by_siret_counts_updated_and_unchanged(session, make, write):
    make.supplier(siret=SIRET, name="Ancien nom")
    make.supplier(siret="21974022200019", name="Même nom")
    text = f"siret;raison_sociale\n{SIRET};Nouveau nom\n21974022200019;Même nom\n"
    result = import_file(session, "suppliers", write("s.csv", text))
    assert (result.counts.inserted, result.counts.updated, result.counts.unchanged) == (0, 1, 1)
    assert session.scalar(sa.select(Supplier.name).where(Supplier.siret == SIRET)) == "Nouveau nom"


def test_matrix_entries_need_a_known_supplier_and_ordered_validity(session, make, write):
    supplier = make.supplier(siret=SIRET)
    text = (
        "siret_fournisseur;reference_article;libelle;code_nomenclature;categories_egalim;origine;"
        "prix_unitaire_ht;unite;debut_validite;fin_validite\n"
        f"{SIRET};YA125;YAOURT NAT BIO 125G;N1;AB;france;0,45;pièce;01/01/2026;31/12/2026\n"
        "21974022200019;X;INCONNU;;;;1;kg;;\n"
        f"{SIRET};YB;LAIT;;;;1;l;31/12/2026;01/01/2026\n"
        f"{SIRET};YA125;DOUBLON;;;;1;l;;\n"
    )
    result = import_file(session, "matrix", write("m.csv", text))
    assert sorted(p["row"] for p in result.report.problems) == [3, 4, 5]
    result = import_file(session, "matrix", write("m2.csv", text), partial=True)
    (entry,) = session.scalars(sa.select(MatrixEntry)).all()
    assert entry.supplier_id == supplier.id and entry.labels == "BIO" and entry.unit_price == 0.45
    assert entry.origin == "FRANCE" and entry.valid_from.isoformat() == "2026-01-01"


def test_nomenclature_upsert_by_code_and_unknown_family_error(session, write):
    text = "code;libelle;famille;code_parent;actif\nN1;Yaourt;Produits laitiers;;oui\nN2;Lait;;;\nN3;X;NOPE;;non\n"
    result = import_file(session, "nomenclature", write("n.csv", text))
    assert sorted(p["row"] for p in result.report.problems) == [3, 4]
    text = "code;libelle;famille;code_parent;actif\nN1;Yaourt;PRODUITS_LAITIERS;;\nN3;X;AUTRES;N1;non\n"
    result = import_file(session, "nomenclature", write("n2.csv", text))
    items = session.scalars(sa.select(NomenclatureItem).order_by(NomenclatureItem.code)).all()
    assert [(i.code, i.family, i.is_active, i.parent_code) for i in items] == [
        ("N1", "PRODUITS_LAITIERS", True, None),
        ("N3", "AUTRES", False, "N1"),
    ]


def test_sites_import_checks_uai_and_direction(session, make, write):
    make.direction("DLYC")
    text = (
        "uai;nom;type;commune;departement;direction;siret\n"
        "0350001a;Lycée A;;Rennes;35;dlyc;21010034300016\n"
        "035001A;Lycée B;;;;;\n"
        "0350002B;Lycée C;;;;DXXX;\n"
    )
    result = import_file(session, "sites", write("s.csv", text))
    assert sorted(p["row"] for p in result.report.problems) == [3, 4]
    result = import_file(session, "sites", write("s.csv", text), partial=True)
    site = session.scalar(sa.select(Site).where(Site.uai == "0350001A"))
    assert site.direction_code == "DLYC" and site.kind == "lycee" and site.siret == "21010034300016"
