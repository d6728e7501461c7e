"""Every hostile file of issue #9 gets a French refusal, before any full parse, nothing written.

The big files are written by hand into a ZIP (tests/hostile/xlsx.py). "Fast" is asserted by
counting the parser calls (no sheet, workbook or JSON document is handed to a parser before
the refusal), not by timing.
"""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa

from tests.hostile.xlsx import (
    write_bomb_xlsx,
    write_numbered_rows_xlsx,
    write_rows_xlsx,
    write_xlsx,
)
from tests.imports.conftest import HEADER, SIRET, UAI, purchases
from workbench.imports.models import ImportBatch
from workbench.imports.operations import import_file
from workbench.imports.parsing import (
    InputLimits,
    Report,
    UnreadableFile,
    input_limits,
    json_depth,
    read_json,
    read_table,
    sha256_and_encoding,
)
from workbench.imports.workbooks import check_xlsx
from workbench.records.models import Contract, PurchaseLine
from workbench.reference.models import MatrixEntry

LINE = f"{UAI};2026-03-02;{SIRET};Laiterie;YA;YAOURT NATURE;48;pièce;21,60;;;;"
ENGLISH = ("Expected", "error", "Error", "codec", "invalid", "line ", "column ", "straddl")


def assert_french_refusal(result, *words: str) -> None:  # type: ignore[no-untyped-def]
    assert result.status == "rejected"
    message = result.message
    assert message.startswith("Fichier refusé"), message
    for word in words:
        assert word in message, message
    assert not any(english in message for english in ENGLISH), message


def nothing_written(session) -> bool:  # type: ignore[no-untyped-def]
    return not session.scalar(sa.select(sa.func.count()).select_from(PurchaseLine)) and not (
        session.scalar(sa.select(sa.func.count()).select_from(Contract))
    )


# -- XLSX: rows, size and ratio checked before parsing --------------------------------------------
def test_a_two_million_row_xlsx_is_refused_before_any_parse(session, sites, tmp_path, parse_calls):
    path = write_numbered_rows_xlsx(tmp_path / "achats.xlsx", 2_000_000)
    assert path.stat().st_size < 40 << 20  # the file was 3.4 MB; this one ~25 MB
    result = import_file(session, "purchases", str(path))
    assert_french_refusal(result, "lignes", "IMPORT_XLSX_MAX_ROWS")
    assert parse_calls == {"sheet": 0, "workbook": 0, "json": 0}
    assert nothing_written(session)


def test_the_row_cap_counts_row_tags_not_the_dimension_tag(tmp_path):
    rows = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(1, 300))
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="A1:A2"/><sheetData>{rows}</sheetData></worksheet>'
    )
    path = write_xlsx(tmp_path / "lying.xlsx", sheet)
    with pytest.raises(UnreadableFile, match="plus de 100 lignes"):
        check_xlsx(path, InputLimits(xlsx_max_rows=100))
    check_xlsx(path, InputLimits(xlsx_max_rows=1000))  # under the cap: accepted


def test_prefixed_row_tags_are_counted_too(tmp_path):
    rows = "".join(f"<x:row><x:c><x:v>{n}</x:v></x:c></x:row>" for n in range(300))
    sheet = (
        '<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<x:sheetData>{rows}</x:sheetData></x:worksheet>"
    )
    path = write_xlsx(tmp_path / "prefixed.xlsx", sheet)
    with pytest.raises(UnreadableFile, match="lignes"):
        check_xlsx(path, InputLimits(xlsx_max_rows=100))


def test_a_zip_bomb_is_refused_by_its_compression_ratio_before_any_parse(
    session, sites, tmp_path, parse_calls
):
    path = write_bomb_xlsx(tmp_path / "bombe.xlsx", 64)  # 64 MB of "A" in ~64 KB
    result = import_file(session, "purchases", str(path))
    assert_french_refusal(result, "taux de compression")
    assert parse_calls == {"sheet": 0, "workbook": 0, "json": 0}
    assert nothing_written(session)


def test_an_xlsx_larger_than_the_uncompressed_cap_is_refused_from_its_declared_sizes(
    session, sites, tmp_path, parse_calls
):
    path = write_bomb_xlsx(tmp_path / "gros.xlsx", 24)
    limits = InputLimits(xlsx_max_uncompressed_mb=16, xlsx_max_ratio=10**6)
    with input_limits(limits), pytest.raises(UnreadableFile, match="16 Mo"):
        read_table(path, "utf-8", Report())
    assert parse_calls == {"sheet": 0, "workbook": 0, "json": 0}


def test_the_caps_come_from_the_settings(app, session, sites, tmp_path, parse_calls):
    rows = [["uai", "libelle"], *([UAI, f"L{n}"] for n in range(50))]
    path = write_rows_xlsx(tmp_path / "petit.xlsx", rows)
    app.config["IMPORT_XLSX_MAX_ROWS"] = 10
    try:
        with pytest.raises(UnreadableFile):
            check_xlsx(path, InputLimits.from_config(app.config))
        result = import_file(session, "purchases", str(path))
    finally:
        app.config["IMPORT_XLSX_MAX_ROWS"] = InputLimits().xlsx_max_rows
    assert_french_refusal(result, "plus de 10 lignes")
    assert parse_calls["sheet"] == 0


def test_a_forged_zip_header_is_refused_in_french(session, sites, tmp_path):
    path = tmp_path / "faux.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    result = import_file(session, "purchases", str(path))
    assert_french_refusal(result, "archive ZIP")


def test_a_zip_that_is_not_a_workbook_is_refused_in_french(session, sites, tmp_path):
    import zipfile

    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "bonjour")
    result = import_file(session, "purchases", str(path))
    assert_french_refusal(result, "classeur")


def test_broken_sheet_xml_is_refused_in_french(session, sites, tmp_path):
    path = write_xlsx(tmp_path / "casse.xlsx", "<worksheet><sheetData><row><c>")
    result = import_file(session, "purchases", str(path))
    assert_french_refusal(result, "XML")


# -- XLSX cells ---------------------------------------------------------------------------------
def test_a_formula_with_a_text_cached_value_in_a_number_column_is_a_row_error(
    session, sites, supplier, tmp_path
):
    header = HEADER.split(";")
    good = [UAI, "2026-03-02", SIRET, "Laiterie", "YA", "YAOURT", 48, "pièce", 21.6, "", "", "", ""]
    bad = [*good[:4], "YB", "YAOURT B", ("f", "#N/A texte"), "pièce", 1, "", "", "", ""]
    path = write_rows_xlsx(tmp_path / "formules.xlsx", [header, good, bad])
    result = import_file(session, "purchases", str(path))
    assert result.status == "rejected"
    (problem,) = [p for p in result.report.problems if p["level"] == "error"]
    assert problem["row"] == 3 and problem["column"] == "quantite"
    assert problem["message"] == "Nombre illisible." and problem["value"] == "#N/A texte"
    assert nothing_written(session)
    partial = import_file(session, "purchases", str(path), partial=True)
    assert partial.status == "applied" and partial.counts.inserted == 1


def test_a_bad_shared_string_index_is_a_row_error_not_a_crash(session, sites, tmp_path):
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>uai</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>libelle</t></is></c></row>'
        '<row r="2"><c r="A2" t="s"><v>99</v></c><c r="B2" t="b"><v>oui</v></c></row>'
        "</sheetData></worksheet>"
    )
    report = Report()
    table = read_table(write_xlsx(tmp_path / "ss.xlsx", sheet), "utf-8", report)
    list(table.chunks)
    assert {p["column"] for p in report.problems} == {"uai", "libelle"}
    assert all(p["message"].startswith("Cellule illisible") for p in report.problems)


def test_far_columns_and_row_gaps_cost_nothing(tmp_path):
    """openpyxl would build 16,384 cells for XFD2 and a billion empty rows for r=10^9."""
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>libelle</t></is></c></row>'
        '<row r="2"><c r="A2"><v>1</v></c><c r="XFD2"><v>2</v></c></row>'
        '<row r="1000000000"><c r="A1000000000"><v>3</v></c></row>'
        "</sheetData></worksheet>"
    )
    table = read_table(write_xlsx(tmp_path / "loin.xlsx", sheet), "utf-8", Report())
    (chunk,) = list(table.chunks)
    assert chunk["libelle"].tolist() == ["1", "3"]
    assert chunk["__row__"].tolist() == [2, 1_000_000_000]


# -- JSON ---------------------------------------------------------------------------------------
def test_a_decp_json_nested_100000_levels_is_refused_before_parsing(session, tmp_path, parse_calls):
    path = tmp_path / "profond.json"
    path.write_text('{"marches": ' + "[" * 100_000 + "]" * 100_000 + "}")
    result = import_file(session, "contracts", str(path))
    assert_french_refusal(result, "imbriqué", "100001 niveaux", "64")
    assert parse_calls["json"] == 0
    assert nothing_written(session)


def test_json_depth_ignores_brackets_inside_strings():
    assert json_depth('{"a": "[[[[{{{{", "b": [1, {"c": "\\"]]]"}]}') == 3
    assert json_depth("[]") == 1 and json_depth('"x"') == 0


def test_json_with_a_nul_escape_or_bad_syntax_is_refused_in_french(tmp_path):
    nul = tmp_path / "nul.json"
    nul.write_text('{"marches": [{"id": "A\\u0000B"}]}')
    with pytest.raises(ValueError, match="caractère nul"):
        read_json(nul)
    broken = tmp_path / "casse.json"
    broken.write_text('{"marches": [1, 2,,]}')
    with pytest.raises(ValueError, match="JSON mal formé ligne 1, colonne 19 .valeur attendue."):
        read_json(broken)
    escaped = tmp_path / "echappe.json"
    escaped.write_text('{"texte": "\\\\u0000 n\'est pas un NUL"}')
    assert read_json(escaped) == {"texte": "\\u0000 n'est pas un NUL"}


def test_utf16_json_is_read(tmp_path):
    path = tmp_path / "utf16.json"
    path.write_bytes(json.dumps({"marches": []}).encode("utf-16"))
    assert read_json(path) == {"marches": []}


# -- NUL bytes ----------------------------------------------------------------------------------
def test_a_nul_in_a_csv_cell_far_into_the_file_is_a_row_error(session, sites, supplier, tmp_path):
    lines = [LINE.replace("YA;", f"Y{n};") for n in range(2000)]  # past the 64 KB sample
    lines.append(LINE.replace("YAOURT NATURE", "YAOURT\x00NATURE").replace("YA;", "YZ;"))
    path = tmp_path / "nul.csv"
    path.write_text(purchases(*lines), encoding="utf-8")
    result = import_file(session, "purchases", str(path))
    assert result.status == "rejected"
    (problem,) = result.report.problems
    assert problem["row"] == 2002 and problem["column"] == "libelle"
    assert "Caractère nul" in problem["message"] and "\x00" not in problem["value"]
    assert nothing_written(session)
    partial = import_file(session, "purchases", str(path), partial=True)
    assert partial.status == "applied" and partial.counts.inserted == 2000


def test_a_nul_in_the_file_name_is_stored_visibly(session, sites, supplier, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(purchases(LINE), encoding="utf-8")
    result = import_file(session, "purchases", str(path), file_name="achats\x00.csv")
    session.flush()
    assert result.status == "applied" and result.batch.file_name == "achats\\0.csv"


def test_a_nul_in_an_uploaded_file_name_is_a_french_400(client, login_as, session, sites):
    login_as("admin")
    data = {"kind": "purchases", "file_format": "", "site": ""}
    data["file"] = (io.BytesIO(purchases(LINE).encode()), "achats\x00.csv")
    response = client.post_form("/imports/", data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "caractère nul" in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(ImportBatch)) == 0


def test_a_nul_in_a_correction_value_is_a_french_400(client, login_as, make, session):
    site = make.site()
    login_as("canteen", sites=[site])
    line = make.purchase_line(site)
    response = client.post_form(
        f"/dossiers/purchase_line/{line.id}/corriger",
        {"field": "origin", "value": "FRANCE\x00", "reason": "x", "base_version": "1"},
    )
    assert response.status_code == 400
    assert "caractère nul" in response.get_data(as_text=True)


@pytest.mark.parametrize("field", ["base_version", "anomaly_id"])
@pytest.mark.parametrize("value", ["abc", "1.5", "9" * 40])
def test_non_integer_hidden_fields_are_a_400(client, login_as, make, session, field, value):
    site = make.site()
    login_as("canteen", sites=[site])
    line = make.purchase_line(site)
    response = client.post_form(
        f"/dossiers/purchase_line/{line.id}/corriger",
        {"field": "origin", "value": "FRANCE", "reason": "x", field: value},
    )
    assert response.status_code == 400
    assert "nombre entier attendu" in response.get_data(as_text=True)


# -- numbers out of a column's range ------------------------------------------------------------
@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("1e308", "Montant hors limites"),
        ("1000000000000", "Montant hors limites"),
        ("-1e13", "Montant hors limites"),
        ("inf", "Nombre illisible."),
        ("nan", "Nombre illisible."),
    ],
)
def test_an_amount_outside_numeric_14_2_is_a_row_error(
    session, sites, supplier, tmp_path, amount, message
):
    path = tmp_path / "montants.csv"
    path.write_text(purchases(LINE, LINE.replace("21,60", amount).replace("YA;", "YB;")))
    result = import_file(session, "purchases", str(path))
    assert result.status == "rejected"
    (problem,) = result.report.problems
    assert problem["row"] == 3 and problem["column"] == "prix_ht"
    assert problem["message"].startswith(message)
    partial = import_file(session, "purchases", str(path), partial=True)
    assert partial.status == "applied" and partial.counts.inserted == 1
    assert session.scalar(sa.select(PurchaseLine.amount_ht)) == 21.6


def test_the_largest_amount_that_fits_is_stored(session, sites, supplier, tmp_path):
    path = tmp_path / "max.csv"
    path.write_text(purchases(LINE.replace("21,60", "999999999999,99")))
    result = import_file(session, "purchases", str(path))
    assert result.status == "applied", result.report.problems
    assert session.scalar(sa.select(PurchaseLine.amount_ht)) == 999999999999.99


@pytest.mark.parametrize("quantity", ["inf", "-nan", "1e308"])
def test_a_quantity_that_is_not_a_finite_sane_number_is_a_row_error(
    session, sites, supplier, tmp_path, quantity
):
    path = tmp_path / "qte.csv"
    path.write_text(purchases(LINE.replace(";48;", f";{quantity};")))
    result = import_file(session, "purchases", str(path))
    assert result.status == "rejected"
    assert result.report.problems[0]["column"] == "quantite"


def test_a_matrix_unit_price_outside_numeric_14_2_is_a_row_error(session, supplier, tmp_path):
    path = tmp_path / "matrice.csv"
    path.write_text(
        "siret_fournisseur;reference_article;libelle;prix_unitaire_ht\n"
        f"{SIRET};A1;YAOURT;0,45\n{SIRET};A2;BEURRE;1e308\n"
    )
    result = import_file(session, "matrix", str(path))
    assert result.status == "rejected"
    (problem,) = result.report.problems
    assert problem["column"] == "prix_unitaire_ht" and "hors limites" in problem["message"]
    assert session.scalar(sa.select(sa.func.count()).select_from(MatrixEntry)) == 0


# -- encodings and parser messages --------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_csv_with_a_byte_order_mark_is_imported(session, sites, supplier, tmp_path, encoding):
    text = purchases(LINE)
    data = text.encode(encoding)
    if encoding != "utf-16":  # the -le/-be codecs write no mark: add it
        data = ("\ufeff" + text).encode(encoding)
    path = tmp_path / "utf16.csv"
    path.write_bytes(data)
    assert sha256_and_encoding(path)[2] == "utf-16"
    result = import_file(session, "purchases", str(path))
    assert result.status == "applied", result.report.problems
    assert session.scalar(sa.select(PurchaseLine.label)) == "YAOURT NATURE"


def test_bytes_undefined_in_windows_1252_get_a_french_message(session, sites, tmp_path):
    path = tmp_path / "octets.csv"
    path.write_bytes(purchases(LINE).encode() + b"\x81\x8d\x90;x\n")
    result = import_file(session, "purchases", str(path))
    assert_french_refusal(result, "encodage")


def test_an_unclosed_quote_or_a_huge_cell_gets_a_french_message(session, sites, tmp_path):
    path = tmp_path / "guillemet.csv"
    path.write_text(purchases(LINE, '0350001A;"' + "x" * (3 << 20)))
    result = import_file(session, "purchases", str(path))
    assert_french_refusal(result, "guillemet")


def test_cells_past_the_header_width_are_not_even_read(tmp_path, monkeypatch):
    from workbench.imports import workbooks

    cells = "".join(f"<c><v>{n}</v></c>" for n in range(5000))
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row><c t="inlineStr"><is><t>libelle</t></is></c></row>'
        f"<row>{cells}</row><row>{cells}</row></sheetData></worksheet>"
    )
    read = []
    value = workbooks._SheetReader._value
    monkeypatch.setattr(
        workbooks._SheetReader, "_value", lambda self, cell: read.append(1) or value(self, cell)
    )
    table = read_table(write_xlsx(tmp_path / "large.xlsx", sheet), "utf-8", Report())
    (chunk,) = list(table.chunks)
    assert chunk["libelle"].tolist() == ["0", "0"]
    assert len(read) == 3  # the header's cell and the first cell of each row
