"""Suppliers without a SIRET (the demo has two) never match anything, nor each other."""

from __future__ import annotations

import sqlalchemy as sa

from workbench.imports.operations import import_file
from workbench.reference.models import Supplier

SIRET = "55204599900869"


def test_supplier_import_works_when_two_stored_suppliers_lack_a_siret(session, make, write):
    make.supplier(siret=None, name="Marché de gros sans SIRET")
    make.supplier(siret=None, name="Producteur local sans SIRET")
    make.supplier(siret=SIRET, name="Ancien nom")
    text = f"siret;raison_sociale\n{SIRET};Nouveau nom\n21974022200019;Nouveau fournisseur\n"
    result = import_file(session, "suppliers", write("s.csv", text))
    assert result.status == "applied", result.report.problems
    assert (result.counts.inserted, result.counts.updated) == (1, 1)
    names = dict(session.execute(sa.select(Supplier.name, Supplier.siret)).all())
    assert names["Nouveau nom"] == SIRET and names["Nouveau fournisseur"] == "21974022200019"
    assert (
        names["Marché de gros sans SIRET"] is None and names["Producteur local sans SIRET"] is None
    )
