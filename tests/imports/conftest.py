"""Helpers for the import tests: files written on the fly, the purchase header."""

from __future__ import annotations

import pytest

HEADER = (
    "uai;date;siret_fournisseur;fournisseur;reference_article;libelle;quantite;unite;prix_ht;"
    "famille_produits;categories_egalim;origine;code_nomenclature"
)
UAI = "0350001A"
OTHER_UAI = "0290002B"
SIRET = "55204599900869"


@pytest.fixture
def write(tmp_path):
    """``write(name, text, encoding)`` → path of a file holding ``text``."""

    def _write(name: str, text: str | bytes, encoding: str = "utf-8") -> str:
        path = tmp_path / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
        return str(path)

    return _write


@pytest.fixture
def sites(make):
    return make.site(uai=UAI, name="Lycée A"), make.site(uai=OTHER_UAI, name="Lycée B")


def purchases(*rows: str, header: str = HEADER) -> str:
    return "\n".join((header, *rows)) + "\n"
