"""``workbench match`` and ``workbench match-eval`` on plain CSV files (no app, no database)."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner

from workbench.matching.cli import match_command, match_eval_command, read_csv_auto

NOM = (
    "code;label;family\nN1;Lait demi-écrémé UHT;PRODUITS_LAITIERS\nN2;Lait;PRODUITS_LAITIERS\n"
    "N3;Yaourt nature;PRODUITS_LAITIERS\nN4;Cabillaud, filet, cru;PRODUITS_DE_LA_MER\n"
)
LABELS = (
    "id,label,supplier,reference\na1,LAIT 1/2 ECR 6X1L,S1,R1\na2,lait,S1,R2\n"
    "a3,FILET CABILLAUD MSC SURG,S2,R9\n"
)


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_match_writes_one_row_per_suggestion(tmp_path):
    nom = write(tmp_path, "nom.csv", NOM)
    lab = write(tmp_path, "labels.csv", LABELS)
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(match_command, [nom, lab, "--top", "2", "-o", str(out)])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out, dtype=str)
    assert list(df.columns) == ["id", "rank", "code", "score"]
    assert df["id"].tolist() == ["a1", "a1", "a2", "a2", "a3", "a3"]
    assert df["rank"].tolist() == ["1", "2"] * 3
    firsts = df[df["rank"] == "1"].set_index("id")["code"].to_dict()
    assert firsts == {"a1": "N1", "a2": "N2", "a3": "N4"}
    assert df.loc[(df["id"] == "a2") & (df["rank"] == "1"), "score"].item() == "100.00"
    assert "3 libellés" in res.output


def test_match_explain_columns_and_cp1252_tab_input(tmp_path):
    nom = write(tmp_path, "nom.csv", NOM.replace(";", "\t"), encoding="cp1252")
    lab = write(tmp_path, "labels.csv", "id;label\n1;FILET CABILLAUD MSC SURG\n", "cp1252")
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(match_command, [nom, lab, "-o", str(out), "--explain"])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(df.columns) == [
        "id",
        "rank",
        "code",
        "score",
        "label",
        "matched_words",
        "unmatched_words",
        "signals",
    ]
    row = df.iloc[0]
    assert row["code"] == "N4"
    assert row["label"] == "Cabillaud, filet, cru"
    assert set(row["matched_words"].split()) == {"filet", "cabillaud"}
    assert row["signals"] == "quality=PECHE_DURABLE"
    assert len(df) == 4  # --top 5 but only 4 items


def test_match_reports_missing_columns(tmp_path):
    nom = write(tmp_path, "nom.csv", "code,name\nN1,Lait\n")
    lab = write(tmp_path, "labels.csv", LABELS)
    res = CliRunner().invoke(match_command, [nom, lab, "-o", str(tmp_path / "o.csv")])
    assert res.exit_code == 2
    assert "colonnes manquantes label" in res.output


def test_read_csv_auto_bom_and_semicolon(tmp_path):
    path = write(tmp_path, "x.csv", "\ufeffCode;Label\nN1;Lait, entier\n")
    df = read_csv_auto(path)
    assert list(df.columns) == ["code", "label"]
    assert df.iloc[0]["label"] == "Lait, entier"


def test_match_eval_prints_metrics(tmp_path):
    rows = [
        "code,label",
        "A,Lait demi-écrémé UHT",
        "B,Lait entier UHT",
        "C,Yaourt nature",
        "D,Cabillaud filet cru",
        "E,Carotte râpée",
        "F,Pomme de terre lavée",
    ]
    nom = write(tmp_path, "nom.csv", "\n".join(rows) + "\n")
    res = CliRunner().invoke(match_eval_command, ["--nomenclature", nom, "--per-item", "3"])
    assert res.exit_code == 0, res.output
    assert "top-1 accuracy:" in res.output
    assert "top-5 accuracy:" in res.output
    assert "accepted  50%" in res.output
