"""Property tests: no file makes an import raise, and the label normaliser never raises.

For every importer (purchases canonical and ma-cantine, CSV and XLSX; matrix; suppliers;
nomenclature; sites; contracts JSON and CSV), hypothesis feeds random bytes, text in many
encodings, huge cells, formulas, far columns, NUL characters and deep JSON. The property: the
import returns a result (never an exception), every message is French, and a refused file
writes no record. Examples are few and derandomised (a fixed seed), so that CI is stable and
the suite stays fast; each example runs in a savepoint rolled back at its end.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.xlsx import write_rows_xlsx
from tests.imports.conftest import HEADER, SIRET, UAI
from workbench.imports.operations import import_file
from workbench.matching.normalise import (
    LEGAL_FORMS,
    ORIGIN_TOKENS,
    PACKAGING_TOKENS,
    QUALITY_TOKENS,
    STATE_TOKENS,
    STOPWORDS,
    fold,
    normalise,
)
from workbench.records.models import Contract, PurchaseLine
from workbench.reference.models import MatrixEntry, NomenclatureItem, Site, Supplier

PROPERTIES = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: Fragments of the English messages of Python, pyarrow, openpyxl and zipfile.
ENGLISH = (
    "Traceback",
    "Error",
    "error:",
    "codec",
    "Expected",
    "expected",
    "invalid",
    "straddl",
    "not well-formed",
    "File is not",
    "Unterminated",
    "Expecting",
)
MODELS = {
    "purchases": PurchaseLine,
    "matrix": MatrixEntry,
    "suppliers": Supplier,
    "nomenclature": NomenclatureItem,
    "sites": Site,
    "contracts": Contract,
}
HEADERS = {
    "purchases": HEADER.split(";"),
    "macantine": [
        "siret",
        "description",
        "fournisseur",
        "date",
        "prix_ht",
        "famille_produits",
        "categories_egalim",
        "origine",
        "est_circuit_court",
        "est_local",
        "definition_local",
        "definition_local_km",
    ],
    "matrix": [
        "siret_fournisseur",
        "reference_article",
        "libelle",
        "code_nomenclature",
        "categories_egalim",
        "origine",
        "prix_unitaire_ht",
        "unite",
        "debut_validite",
        "fin_validite",
    ],
    "suppliers": ["siret", "raison_sociale", "categorie_entreprise", "tranche_effectifs", "ess"],
    "nomenclature": ["code", "libelle", "famille", "code_parent", "actif"],
    "sites": ["uai", "nom", "type", "commune", "departement", "direction", "siret"],
    "contracts": ["id", "acheteur_id", "titulaire_id", "montant", "dateNotification", "objet"],
}
KIND_OF = {"macantine": "purchases"}
SET_ASIDE = (
    set(QUALITY_TOKENS)
    | set(ORIGIN_TOKENS)
    | set(STATE_TOKENS)
    | PACKAGING_TOKENS
    | LEGAL_FORMS
    | STOPWORDS
)

# -- strategies ---------------------------------------------------------------------------------
#: Plausible values plus hostile ones: huge numbers, non-finite, NUL, quotes, separators.
HOSTILE_CELLS = st.sampled_from(
    [
        "",
        UAI,
        SIRET,
        "2026-03-02",
        "31/02/2026",
        "1e308",
        "-1e308",
        "inf",
        "nan",
        "1,5",
        "999999999999,99",
        "1000000000000",
        "BIO, LR",
        "PRODUITS_LAITIERS",
        "oui",
        "x",
        "=1+1",
        '"',
        '""',
        ";",
        "\n",
        "\r",
        "a\x00b",
        "\x00",
        "\ufeff",
        "é" * 600,
        "\u202e\u200b",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    ]
)
CELLS = st.one_of(HOSTILE_CELLS, st.text(max_size=40))
ENCODINGS = st.sampled_from(
    ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16", "utf-16-le", "utf-16-be", "utf-32"]
)
SEPARATORS = st.sampled_from([";", ",", "\t"])
NAMES = st.sampled_from(["fichier.csv", "fichier.xlsx", "fichier.json", "fichier", "f\x00.csv"])


def rows_of(headers: list[str]) -> st.SearchStrategy[list[list[str]]]:
    return st.lists(st.lists(CELLS, min_size=0, max_size=len(headers) + 2), min_size=0, max_size=6)


def csv_text(headers: list[str], rows: list[list[str]], separator: str) -> str:
    def quote(cell: str) -> str:
        return (
            cell if not any(c in cell for c in '";,\t\n\r') else '"' + cell.replace('"', '""') + '"'
        )

    lines = [separator.join(headers)] + [separator.join(quote(c) for c in row) for row in rows]
    return "\n".join(lines) + "\n"


def encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace")


#: JSON values of any shape (the inside of a DECP document).
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | CELLS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(CELLS, inner, max_size=4),
    max_leaves=20,
)
DECP_KEYS = st.sampled_from(
    ["id", "acheteur", "titulaires", "montant", "dateNotification", "objet", "codeCPV", "_type"]
)
CONTRACT = st.dictionaries(DECP_KEYS, JSON_VALUES, max_size=8)


# -- the property -------------------------------------------------------------------------------
@pytest.fixture
def reference(make):
    make.site(uai=UAI, name="Lycée A", siret="19350001400012")
    make.supplier(siret=SIRET, name="Laiterie")
    make.direction("DLYC", cpv_divisions="79")


def import_never_raises(session, tmp_path: Path, kind: str, data: bytes, name: str, **options):  # type: ignore[no-untyped-def]
    """Import ``data`` as ``kind`` in a savepoint; check the property; roll back."""
    path = tmp_path / "upload"
    path.write_bytes(data)
    model = MODELS[kind]
    savepoint = session.begin_nested()
    try:
        before = session.scalar(sa.select(sa.func.count()).select_from(model))
        result = import_file(session, kind, str(path), file_name=name, **options)
        session.flush()
        after = session.scalar(sa.select(sa.func.count()).select_from(model))
        assert result.status in ("applied", "rejected", "dry_run", "duplicate")
        texts = [result.message] + [p["message"] for p in result.report.problems]
        for text in texts:
            assert not any(english in text for english in ENGLISH), text
            assert "\x00" not in text
        if result.status == "rejected":
            assert after == before, "a refused file wrote records"
            assert result.report.error_count >= 1
    finally:
        savepoint.rollback()


KINDS = ["purchases", "macantine", "matrix", "suppliers", "nomenclature", "sites", "contracts"]


@pytest.mark.parametrize("kind", KINDS)
@PROPERTIES
@given(data=st.binary(max_size=3000), name=NAMES)
def test_random_bytes_never_make_an_import_raise(session, reference, tmp_path, kind, data, name):
    import_never_raises(session, tmp_path, KIND_OF.get(kind, kind), data, name)


@pytest.mark.parametrize("kind", KINDS)
@PROPERTIES
@given(data=st.data(), separator=SEPARATORS, encoding=ENCODINGS)
def test_csv_files_in_any_encoding_never_make_an_import_raise(
    session, reference, tmp_path, kind, data, separator, encoding
):
    headers = HEADERS[kind]
    rows = data.draw(rows_of(headers))
    content = encode(csv_text(headers, rows, separator), encoding)
    options = {"file_format": "decp_csv"} if kind == "contracts" else {}
    import_never_raises(
        session, tmp_path, KIND_OF.get(kind, kind), content, "fichier.csv", **options
    )


XLSX_CELLS = st.one_of(
    CELLS.map(lambda text: text.replace("\x00", "")),  # XML cannot hold a NUL at all
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.tuples(st.just("f"), CELLS.map(lambda text: text.replace("\x00", ""))),  # formulas
)


@pytest.mark.parametrize("kind", ["purchases", "macantine", "matrix", "suppliers", "sites"])
@PROPERTIES
@given(data=st.data())
def test_xlsx_files_with_formulas_and_odd_cells_never_make_an_import_raise(
    session, reference, tmp_path, kind, data
):
    headers = HEADERS[kind]
    rows = data.draw(
        st.lists(st.lists(XLSX_CELLS, max_size=len(headers) + 2), max_size=6), label="rows"
    )
    path = write_rows_xlsx(tmp_path / "classeur.xlsx", [headers, *rows])
    import_never_raises(session, tmp_path, KIND_OF.get(kind, kind), path.read_bytes(), "c.xlsx")


@PROPERTIES
@given(contracts=st.lists(CONTRACT, max_size=4), version=st.sampled_from(["v2", "1.5"]))
def test_decp_json_of_any_shape_never_makes_an_import_raise(
    session, reference, tmp_path, contracts, version
):
    document = {"marches": {"marche": contracts}} if version == "v2" else {"marches": contracts}
    data = json.dumps(document, ensure_ascii=False).encode()
    import_never_raises(session, tmp_path, "contracts", data, "decp.json")


@PROPERTIES
@given(depth=st.integers(min_value=0, max_value=5000), opener=st.sampled_from(["[", '{"a":']))
def test_deep_json_never_makes_an_import_raise(session, reference, tmp_path, depth, opener):
    closer = "]" if opener == "[" else "}"
    data = ('{"marches": ' + opener * depth + "1" + closer * depth + "}").encode()
    import_never_raises(session, tmp_path, "contracts", data, "decp.json")


# -- the label normaliser -----------------------------------------------------------------------
LABEL_TEXT = st.one_of(
    st.text(max_size=80),
    st.lists(
        st.sampled_from(
            [
                "STEAK",
                "HACHE",
                "15%",
                "MG",
                "VBF",
                "10X1KG",
                "BIO",
                "label",
                "rouge",
                "x",
                "S/V",
                "1/2",
                "PDT",
                "l0t",
                "İ",
                "ß",
                "Œuf",
                "\u00a0",
                "ﬁlet",
                "4EME",
                "GAMME",
                "ST",
            ]
        ),
        max_size=10,
    ).map(" ".join),
)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(label=st.one_of(LABEL_TEXT, st.none(), st.floats(), st.integers()))
def test_the_normaliser_never_raises(label):
    result = normalise(label)
    assert isinstance(result.key, str) and isinstance(result.fingerprint, str)
    assert all(word and " " not in word for word in result.words)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(text=LABEL_TEXT)
def test_folding_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(text=LABEL_TEXT)
def test_key_words_are_folded_tokens_with_signals_measures_and_packaging_set_aside(text):
    """What the module says it does: measures, packs, packaging, states, legal forms and
    stopwords removed; quality and origin tokens set aside as signals."""
    result = normalise(text)
    for word in result.words:
        assert re.fullmatch("[a-z0-9]+", word), word
        assert not word.isdigit(), word
        assert word not in SET_ASIDE, word
    assert result.raw == text


def test_a_vulgar_fraction_reads_as_its_words():
    assert fold("½ Œuf") == "1/2 oeuf"
    assert normalise("BAGUETTE ½").key == normalise("BAGUETTE 1/2").key == "baguette demi"


def true_depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((true_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((true_depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(document=JSON_VALUES, ascii_only=st.booleans())
def test_json_depth_is_the_depth_the_parser_would_find(document, ascii_only):
    from workbench.imports.parsing import json_depth

    text = json.dumps(document, ensure_ascii=ascii_only)
    assert json_depth(text) == true_depth(json.loads(text))
