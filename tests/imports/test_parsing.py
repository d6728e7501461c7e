"""Pure reading and conversion: encodings, separators, headers, decimals, dates, labels."""

from __future__ import annotations

import pandas as pd

from workbench.imports.formats import normalise_labels
from workbench.imports.parsing import (
    ROW,
    Report,
    normalise_header,
    parse_dates,
    parse_decimals,
    read_table,
    sha256_and_encoding,
    sniff_delimiter,
)


def test_encoding_is_detected_as_utf8_bom_or_windows_1252(write):
    assert sha256_and_encoding(write("a.csv", "é;b\n"))[2] == "utf-8"
    assert sha256_and_encoding(write("b.csv", "\ufeffé;b\n"))[2] == "utf-8-sig"
    assert sha256_and_encoding(write("c.csv", "é;b\n", "cp1252"))[2] == "cp1252"


def test_same_bytes_give_the_same_sha256_and_different_bytes_another(write):
    a = sha256_and_encoding(write("a.csv", "x\n1\n"))[0]
    b = sha256_and_encoding(write("b.csv", "x\n1\n"))[0]
    c = sha256_and_encoding(write("c.csv", "x\n2\n"))[0]
    assert a == b != c and len(a) == 64


def test_delimiter_is_sniffed_from_the_header_line():
    assert sniff_delimiter("a;b;c") == ";"
    assert sniff_delimiter("a\tb\tc") == "\t"
    assert sniff_delimiter("a,b,c") == ","


def test_headers_match_ignoring_case_accents_spaces_and_underscores():
    assert normalise_header(" Catégories EGalim ") == "categories_egalim"
    assert normalise_header("\ufeffLibellé") == "libelle"
    assert normalise_header("SIRET-Fournisseur") == "siret_fournisseur"


def test_decimal_comma_point_and_thousands_spaces_are_read_and_junk_is_flagged():
    values, bad = parse_decimals(pd.Series(["1 234,56", "12.5", "", "abc", "1.234,5", "inf"]))
    assert values.tolist()[:2] == [1234.56, 12.5]
    assert pd.isna(values[2]) and values[4] == 1234.5
    assert bad.tolist() == [False, False, False, True, False, True]


def test_dates_iso_or_french_are_read_and_impossible_ones_flagged():
    values, bad = parse_dates(
        pd.Series(["2026-03-02", "02/03/2026", "2022-02-31", "", "2022/03/01"])
    )
    assert values[0] == values[1] == pd.Timestamp("2026-03-02")
    assert bad.tolist() == [False, False, True, False, True]


def test_labels_are_normalised_to_ma_cantine_codes_and_unknown_ones_listed():
    assert normalise_labels("Bio, AB , LR") == ("BIO,LABEL_ROUGE", [])
    assert normalise_labels("BIO ") == ("BIO", [])
    assert normalise_labels("AOC/AOP;Label rouge") == ("AOCAOP,LABEL_ROUGE", [])
    assert normalise_labels("BIO,NOPE") == ("BIO", ["NOPE"])


def test_rows_are_numbered_as_in_a_spreadsheet_even_around_a_broken_row(write):
    path = write("t.csv", 'a;b\n1;2\n3\n"x\ny";4\n5;6\n')
    report = Report()
    table = read_table(path, "utf-8", report)
    frame = pd.concat(list(table.chunks))
    assert frame[ROW].tolist() == [2, 4, 5]
    assert frame["a"].tolist() == ["1", "x\ny", "5"]
    assert [p["row"] for p in report.problems] == [3]


def test_chunks_are_bounded_by_the_chunk_size(write):
    path = write("big.csv", "a,b\n" + "".join(f"{i},{i}\n" for i in range(1000)))
    table = read_table(path, "utf-8", Report(), chunk_rows=100)
    sizes = [len(c) for c in table.chunks]
    assert sum(sizes) == 1000 and max(sizes) < 1000
