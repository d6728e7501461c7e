"""API fixtures: a lycée, a supplier, and tokens created through the operations."""

from __future__ import annotations

import pytest

from workbench.api import operations

UAI = "0350001A"
OTHER_UAI = "0290002B"
SIRET = "55204599900869"


@pytest.fixture
def reference(make):
    make.site(uai=UAI, name="Lycée A")
    make.site(uai=OTHER_UAI, name="Lycée B")
    return make.supplier(siret=SIRET, name="Laiterie de l'Ouest")


@pytest.fixture
def token(session, reference):
    """``token(kinds=..., sites=...)`` → the secret of a new token (``Authorization`` header)."""
    counter = iter(range(1, 1000))

    def _token(kinds=("purchases", "contracts", "matrix"), sites=(), name=None) -> str:
        _, secret = operations.create_token(
            session, name or f"systeme-{next(counter)}", list(kinds), list(sites)
        )
        session.flush()
        return secret

    return _token


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def line(**overrides):  # type: ignore[no-untyped-def]
    values = {
        "uai": UAI,
        "date": "2026-03-02",
        "siret_fournisseur": SIRET,
        "fournisseur": "Laiterie de l'Ouest",
        "reference_article": "YA125",
        "libelle": "YAOURT NAT BIO 125G X48",
        "quantite": 48,
        "unite": "pièce",
        "prix_ht": 21.6,
        "famille_produits": "PRODUITS_LAITIERS",
        "categories_egalim": "BIO",
        "origine": "FRANCE",
        "code_nomenclature": None,
    }
    values.update(overrides)
    return values
