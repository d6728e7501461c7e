"""Purchase lines: canonical and ma-cantine formats, every error class, idempotency, corrections."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.imports.conftest import OTHER_UAI, SIRET, UAI, purchases
from workbench.audit.models import AuditEntry
from workbench.core.errors import PermissionDenied
from workbench.core.signals import records_changed
from workbench.imports.models import ImportBatch
from workbench.imports.operations import import_file
from workbench.records.models import PurchaseLine
from workbench.review.models import Correction

MACANTINE = Path("/work/shared/data/macantine")
if not MACANTINE.exists():  # pragma: no cover - the shared data lives beside the repository
    MACANTINE = Path(__file__).resolve().parents[3] / "shared" / "data" / "macantine"

GOOD = [
    f"{UAI};02/03/2026;552 045 999 00869;Laiterie;YA125;YAOURT NAT BIO 125G X48;48;pièce;21,60;PRODUITS_LAITIERS;Bio;France;N1",
    f"{UAI};2026-03-02;{SIRET};Laiterie;BF15;STEAK HACHE 15% VBF;10;kg;95.5;VIANDES_VOLAILLES;;vbf;",
    f"{UAI};2026-03-03;;Maraîcher;;PDT GT LAVEE SAC 10KG;1;sac;12;FRUITS_ET_LEGUMES;AB, LR;;",
]


def lines(session):
    return session.scalars(sa.select(PurchaseLine).order_by(PurchaseLine.source_row)).all()


def test_canonical_file_imports_every_line_with_provenance_and_normalised_values(
    session, make, sites, write
):
    supplier = make.supplier(siret=SIRET)
    result = import_file(session, "purchases", write("achats.csv", purchases(*GOOD)))
    assert result.status == "applied", result.report.problems
    assert result.counts.inserted == 3
    got = lines(session)
    assert [line.source_row for line in got] == [2, 3, 4]
    assert {line.import_batch_id for line in got} == {result.batch.id}
    first = got[0]
    assert first.site_id == sites[0].id and first.line_date == dt.date(2026, 3, 2)
    assert first.supplier_id == supplier.id and first.supplier_siret == SIRET
    assert first.amount_ht == 21.6 and first.quantity == 48
    assert first.labels == "BIO" and first.origin == "FRANCE" and first.nomenclature_code == "N1"
    assert got[1].origin == "VBF" and got[1].labels == ""
    assert got[2].supplier_id is None and got[2].labels == "BIO,LABEL_ROUGE"
    assert len({line.line_key for line in got}) == 3


def test_unknown_supplier_siret_is_kept_raw_without_blocking(session, sites, write):
    result = import_file(session, "purchases", write("a.csv", purchases(GOOD[1])))
    assert result.status == "applied"
    (line,) = lines(session)
    assert line.supplier_id is None and line.supplier_siret == SIRET


def test_twenty_mixed_errors_give_twenty_report_lines_in_one_pass(session, sites, write):
    ok = f"{UAI};2026-03-02;{SIRET};F;R;LIB;1;kg;1;AUTRES;;;"
    long = "X" * 301
    rows = [
        f"9999999Z;2026-03-02;{SIRET};F;R1;LIB;1;kg;1;AUTRES;;;",  # unknown uai
        f";2026-03-02;{SIRET};F;R2;LIB;1;kg;1;AUTRES;;;",  # missing uai
        f"{UAI};2026-13-01;{SIRET};F;R3;LIB;1;kg;1;AUTRES;;;",  # bad date
        f"{UAI};;{SIRET};F;R4;LIB;1;kg;1;AUTRES;;;",  # missing date
        f"{UAI};31/02/2026;{SIRET};F;R5;LIB;1;kg;1;AUTRES;;;",  # impossible date
        f"{UAI};2026-03-02;{SIRET};F;R6;;1;kg;1;AUTRES;;;",  # missing label
        f"{UAI};2026-03-02;{SIRET};F;R7;LIB;abc;kg;1;AUTRES;;;",  # bad quantity
        f"{UAI};2026-03-02;{SIRET};F;R8;LIB;-3;kg;1;AUTRES;;;",  # negative quantity
        f"{UAI};2026-03-02;{SIRET};F;R9;LIB;1;kg;12,3,4;AUTRES;;;",  # bad amount
        f"{UAI};2026-03-02;{SIRET};F;R10;LIB;1;kg;douze;AUTRES;;;",  # bad amount
        f"{UAI};2026-03-02;{SIRET};F;R11;LIB;1;kg;1;LEGUMINEUSES;;;",  # unknown family
        f"{UAI};2026-03-02;{SIRET};F;R12;LIB;1;kg;1;AUTRES;BIO,NOPE;;",  # unknown label
        f"{UAI};2026-03-02;{SIRET};F;R13;LIB;1;kg;1;AUTRES;XYZ;;",  # unknown label
        f"{UAI};2026-03-02;{SIRET};F;R14;LIB;1;{'K' * 21};1;AUTRES;;;",  # unit too long
        f"{UAI};2026-03-02;{SIRET};F;R15;LIB;1;kg;1;AUTRES;;{'O' * 51};",  # origin too long
        f"{UAI};2026-03-02;{SIRET};F;R16;LIB;1;kg;1;AUTRES;;;{'N' * 31}",  # code too long
        f"{UAI};2026-03-02;{SIRET};F;{'R' * 101};LIB;1;kg;1;AUTRES;;;",  # reference too long
        f"{UAI};2026-03-02;{SIRET};F;R18;LIB;1",  # missing cells
        f"{UAI};2026-03-02;{SIRET};{long};R19;LIB;1;kg;1;AUTRES;;;",  # supplier name too long
        f"0000000A;2026-03-02;{SIRET};F;R20;LIB;1;kg;1;AUTRES;;;",  # unknown uai
    ]
    result = import_file(session, "purchases", write("bad.csv", purchases(ok, *rows, ok)))
    errors = [p for p in result.report.problems if p["level"] == "error"]
    assert result.status == "rejected"
    assert len(errors) == 20
    assert sorted(p["row"] for p in errors) == list(range(3, 23))
    assert all(p["message"] for p in errors)
    assert session.scalar(sa.select(sa.func.count(PurchaseLine.id))) == 0
    batch = result.batch
    assert batch.status == "rejected" and batch.rejected_count == 20 and batch.row_count == 22


def test_missing_required_columns_are_one_error_naming_them(session, sites, write):
    result = import_file(session, "purchases", write("a.csv", "uai;date\n0350001A;2026-01-01\n"))
    assert result.status == "rejected"
    (problem,) = [p for p in result.report.problems if p["level"] == "error"]
    for name in ("libelle", "quantite", "siret_fournisseur"):
        assert name in problem["message"]


def test_unknown_extra_columns_are_a_warning_not_an_error(session, sites, write):
    header = purchases(GOOD[0]).replace("code_nomenclature", "code_nomenclature;commentaire")
    result = import_file(session, "purchases", write("a.csv", header.rstrip("\n") + ";vu\n"))
    assert result.status == "applied"
    (warning,) = result.report.problems
    assert warning["level"] == "warning" and "commentaire" in warning["message"]


def test_a_file_that_is_not_a_table_is_one_clear_error(session, sites, write):
    result = import_file(session, "purchases", write("a.csv", b"%PDF-1.4\x00\x01\x02binary"))
    assert result.status == "rejected"
    assert len(result.report.problems) == 1
    assert "lisible" in result.report.problems[0]["message"]


def test_windows_1252_file_with_bom_less_header_variants_is_read(session, sites, write):
    header = (
        "UAI,Date,SIRET fournisseur,Fournisseur,Référence article,Libellé,Quantité,Unité,Prix HT"
    )
    text = f'{header}\n{UAI},02/03/2026,{SIRET},Crèmerie,CF1,CRÈME FRAÎCHE 1L,2,l,"3,50"\n'
    result = import_file(session, "purchases", write("a.csv", text, "cp1252"))
    assert result.status == "applied", result.report.problems
    (line,) = lines(session)
    assert line.label == "CRÈME FRAÎCHE 1L" and line.supplier_name == "Crèmerie"
    assert line.amount_ht == 3.5


def test_utf8_bom_and_tab_separator_are_read(session, sites, write):
    text = "\ufeff" + purchases(*GOOD).replace(";", "\t")
    result = import_file(session, "purchases", write("a.tsv", text))
    assert result.status == "applied", result.report.problems
    assert result.counts.inserted == 3


def test_comma_separated_file_with_quoted_decimal_comma(session, sites, write):
    text = purchases(
        f'{UAI},2026-03-02,{SIRET},"Laiterie, Ouest",YA,"YAOURT, NATURE",2,kg,"1 234,50",,,,',
        header=purchases().strip().replace(";", ","),
    )
    result = import_file(session, "purchases", write("a.csv", text))
    assert result.status == "applied", result.report.problems
    (line,) = lines(session)
    assert line.amount_ht == 1234.5 and line.supplier_name == "Laiterie, Ouest"


def test_xlsx_file_is_imported_with_native_dates_and_numbers(session, sites, write, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(purchases().strip().split(";"))
    sheet.append(
        [UAI, dt.datetime(2026, 3, 2), SIRET, "Laiterie", "YA", "YAOURT", 48, "pièce", 21.6]
    )
    sheet.append([UAI, "03/03/2026", SIRET, "Laiterie", "YB", "LAIT", "6", "l", "4,2"])
    path = tmp_path / "achats.xlsx"
    book.save(path)
    result = import_file(session, "purchases", str(path))
    assert result.status == "applied", result.report.problems
    first, second = lines(session)
    assert first.line_date == dt.date(2026, 3, 2) and first.amount_ht == 21.6
    assert first.quantity == 48 and second.amount_ht == 4.2 and second.source_row == 3


def test_importing_the_same_file_twice_changes_nothing(session, sites, write):
    path = write("a.csv", purchases(*GOOD))
    first = import_file(session, "purchases", path)
    before = session.execute(
        sa.select(PurchaseLine.id, PurchaseLine.version).order_by(PurchaseLine.id)
    ).all()
    second = import_file(session, "purchases", path)
    assert first.status == "applied" and second.status == "duplicate"
    assert "déjà été importé" in second.message and second.previous.id == first.batch.id
    assert (
        session.execute(
            sa.select(PurchaseLine.id, PurchaseLine.version).order_by(PurchaseLine.id)
        ).all()
        == before
    )
    assert session.scalar(sa.select(sa.func.count(ImportBatch.id))) == 1


def test_newer_extract_updates_by_natural_key_and_counts(session, sites, write):
    import_file(session, "purchases", write("v1.csv", purchases(*GOOD)))
    changed = GOOD[1].replace(";95.5;", ";99;")
    new = f"{UAI};2026-03-04;{SIRET};Laiterie;YA125;YAOURT NAT BIO 125G X48;24;pièce;10,80;;;;"
    result = import_file(
        session, "purchases", write("v2.csv", purchases(GOOD[0], changed, GOOD[2], new))
    )
    assert (result.counts.inserted, result.counts.updated, result.counts.unchanged) == (1, 1, 2)
    steak = session.scalar(sa.select(PurchaseLine).where(PurchaseLine.reference == "BF15"))
    assert steak.amount_ht == 99 and steak.version == 2 and steak.import_batch_id == result.batch.id
    assert session.scalar(sa.select(sa.func.count(PurchaseLine.id))) == 4


def test_re_import_keeps_a_correction_and_flags_a_conflict_when_the_source_changes(
    session, make, sites, write
):
    import_file(session, "purchases", write("v1.csv", purchases(*GOOD)))
    steak = session.scalar(sa.select(PurchaseLine).where(PurchaseLine.reference == "BF15"))
    user = make.user(role="canteen", sites=[sites[0]])
    correction = Correction(
        kind="edit",
        status="applied",
        record_kind="purchase_line",
        record_id=steak.id,
        field="labels",
        old_value="",
        new_value="LABEL_ROUGE",
        reason="facture",
        proposed_by_id=user.id,
    )
    session.add(correction)
    steak.labels = "LABEL_ROUGE"
    session.flush()

    # same source value for the corrected field: the correction is re-applied, no conflict
    v2 = GOOD[1].replace(";95.5;", ";96;")
    result = import_file(session, "purchases", write("v2.csv", purchases(GOOD[0], v2, GOOD[2])))
    session.refresh(steak)
    session.refresh(correction)
    assert steak.labels == "LABEL_ROUGE" and steak.amount_ht == 96
    assert correction.status == "applied" and result.counts.conflicts == 0

    # the source now says something else: corrected value kept, correction in conflict
    v3 = v2.replace(";VIANDES_VOLAILLES;;", ";VIANDES_VOLAILLES;BIO;")
    result = import_file(session, "purchases", write("v3.csv", purchases(GOOD[0], v3, GOOD[2])))
    session.refresh(steak)
    session.refresh(correction)
    assert steak.labels == "LABEL_ROUGE"
    assert correction.status == "conflict"
    assert result.batch.conflict_count == 1
    entry = session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.action == "correction.conflict", AuditEntry.target_id == str(steak.id)
        )
    )
    assert entry is not None and entry.after["source_value"] == "BIO"


def test_partial_import_keeps_valid_rows_and_reports_the_rejected_ones(session, sites, write):
    bad = f"{UAI};pas une date;{SIRET};F;R;LIB;1;kg;1;;;;"
    result = import_file(
        session, "purchases", write("a.csv", purchases(GOOD[0], bad)), partial=True
    )
    assert result.status == "applied"
    assert result.batch.is_partial and result.batch.rejected_count == 1
    assert [p["row"] for p in result.batch.report] == [3]
    assert len(lines(session)) == 1


def test_dry_run_counts_without_writing(session, sites, write):
    result = import_file(session, "purchases", write("a.csv", purchases(*GOOD)), dry_run=True)
    assert result.status == "dry_run" and result.counts.inserted == 3
    assert result.batch.status == "dry_run" and result.batch.inserted_count == 3
    assert lines(session) == []
    again = import_file(session, "purchases", write("a.csv", purchases(*GOOD)))
    assert again.status == "applied"


def test_import_writes_one_audit_entry_and_signals_changed_records(session, sites, write):
    received = []

    def receiver(sender, record_kind, record_ids):  # type: ignore[no-untyped-def]
        received.append((record_kind, sorted(record_ids)))

    with records_changed.connected_to(receiver):
        result = import_file(session, "purchases", write("a.csv", purchases(*GOOD)))
    entries = session.scalars(sa.select(AuditEntry).where(AuditEntry.action.like("import.%"))).all()
    assert [e.action for e in entries] == ["import.applied"]
    assert entries[0].after["sha256"] == result.batch.sha256
    assert entries[0].after["inserted"] == 3 and entries[0].after["file_name"] == "a.csv"
    ids = sorted(line.id for line in lines(session))
    assert received == [("purchase_line", ids)]


def test_rejected_import_is_journaled_as_rejected(session, sites, write):
    import_file(session, "purchases", write("a.csv", purchases(f"{UAI};x;;;;L;1;kg;1")))
    actions = session.scalars(sa.select(AuditEntry.action)).all()
    assert "import.rejected" in actions and "import.applied" not in actions


def test_canteen_user_cannot_import_lines_of_another_lycee(session, make, sites, write):
    user = make.user(role="canteen", sites=[sites[0]])
    other = GOOD[0].replace(UAI, OTHER_UAI)
    result = import_file(session, "purchases", write("a.csv", purchases(GOOD[1], other)), user=user)
    assert result.status == "rejected"
    (error,) = result.report.problems
    assert error["row"] == 3 and OTHER_UAI in error["message"]
    with pytest.raises(PermissionDenied):
        import_file(session, "suppliers", write("s.csv", "siret;raison_sociale\n"), user=user)


def test_macantine_good_file_imports_for_the_chosen_site(session, sites):
    result = import_file(session, "purchases", str(MACANTINE / "purchases_good.csv"), site_uai=UAI)
    assert result.status == "applied", result.report.problems
    assert result.file_format == "macantine-csv" and result.counts.inserted == 8
    got = lines(session)
    assert {line.site_id for line in got} == {sites[0].id}
    assert got[0].family == "PRODUITS_LAITIERS" and got[0].labels == "BIO" and got[0].is_local
    assert got[3].labels == "BIO" and got[3].family == "BOISSONS"


def test_macantine_bad_file_reports_every_bad_row(session, sites):
    result = import_file(session, "purchases", str(MACANTINE / "purchases_bad.csv"), site_uai=UAI)
    assert result.status == "rejected"
    rows = sorted({p["row"] for p in result.report.problems if p["level"] == "error"})
    assert rows == list(range(2, 16))
    assert lines(session) == []


def test_macantine_file_without_a_site_uses_the_lycee_siret(session, sites):
    sites[1].siret = "21010034300016"
    session.flush()
    result = import_file(session, "purchases", str(MACANTINE / "purchases_good.csv"))
    assert result.status == "applied", result.report.problems
    assert {line.site_id for line in lines(session)} == {sites[1].id}


def test_macantine_file_without_a_site_nor_known_siret_names_the_site_option(session, sites):
    result = import_file(session, "purchases", str(MACANTINE / "purchases_good.csv"))
    assert result.status == "rejected"
    assert len(result.report.problems) == 8
    assert "--site" in result.report.problems[0]["message"]


def test_keys_computed_chunk_by_chunk_equal_the_whole_file_keys():
    import numpy as np
    import pandas as pd

    from workbench.imports.staging import KeyHashes, key_bases, line_keys
    from workbench.records.keys import purchase_line_keys

    rng = np.random.default_rng(3)
    n = 3000
    frame = pd.DataFrame(
        {
            "uai": rng.choice([UAI, OTHER_UAI], n),
            "line_date": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 90, n), "D"),
            "supplier_siret": rng.choice([SIRET, None], n),
            "reference": rng.choice(["A", "B", None], n),
            "label": rng.choice(["YAOURT", "LAIT"], n),
        }
    )
    chunks = [frame.iloc[i : i + 100] for i in range(0, n, 100)]
    hashes = KeyHashes()
    bases = [key_bases(chunk) for chunk in chunks]
    for part in bases:
        hashes.add(part)
    numbers = hashes.occurrences()
    assert numbers.max() > 1  # the occurrences do span several chunks
    keys = [
        key
        for i, part in enumerate(bases)
        for key in line_keys(part, numbers[i * 100 : (i + 1) * 100]).tolist()
    ]
    assert keys == purchase_line_keys(frame).tolist()


def test_a_line_whose_label_fills_its_column_imports_and_is_checked(session, sites, write):
    """A label of 500 characters without reference (its anomaly's group key would be 504): the
    import and its re-check go through on both databases, the line gets its anomaly."""
    from workbench.rules.models import Anomaly

    label = ("YAOURT ÉTUVÉ AUX FRUITS DES BOIS " * 20)[:500].strip()
    row = f"{UAI};2026-03-03;;Laiterie;;{label};1;pièce;12;PRODUITS_LAITIERS;;;"
    result = import_file(session, "purchases", write("achats.csv", purchases(row)))
    assert result.status == "applied", result.report.problems
    line = lines(session)[0]
    assert line.label == label
    keys = session.scalars(
        sa.select(Anomaly.group_key).where(
            Anomaly.record_id == line.id, Anomaly.rule_code == "ARTICLE_UNMAPPED"
        )
    ).all()
    assert len(keys) == 1 and len(keys[0]) <= 300
