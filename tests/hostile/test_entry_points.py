"""Hostile input through every door: the upload page, the command line, correction values."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from tests.hostile.xlsx import write_bomb_xlsx
from workbench.core.errors import ValidationError
from workbench.core.values import MONEY_PRECISION, MONEY_SCALE, fits_numeric, numeric_limit
from workbench.db import Money
from workbench.imports.models import ImportBatch
from workbench.records.models import PurchaseLine
from workbench.review.fields import editable_field


def test_the_money_limits_are_those_of_the_money_column():
    assert (Money.precision, Money.scale) == (MONEY_PRECISION, MONEY_SCALE)
    assert fits_numeric(999_999_999_999.99) and not fits_numeric(999_999_999_999.995)
    assert not fits_numeric(float("inf")) and not fits_numeric(float("nan"))
    assert numeric_limit(4, 2) == 99.995


def test_a_zip_bomb_uploaded_on_the_web_is_a_french_refusal_not_a_500(
    client, login_as, session, tmp_path
):
    login_as("admin")
    bomb = write_bomb_xlsx(tmp_path / "bombe.xlsx", 64).read_bytes()
    data = {"kind": "purchases", "file_format": "", "site": ""}
    data["file"] = (io.BytesIO(bomb), "bombe.xlsx")
    response = client.post_form("/imports/", data, content_type="multipart/form-data")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Refusé" in page and "bombe de décompression" in page
    batch = session.scalar(sa.select(ImportBatch))
    assert batch.status == "rejected" and batch.inserted_count == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(PurchaseLine)) == 0


def test_deep_json_on_the_command_line_exits_1_with_a_french_message(app, session, tmp_path):
    path = tmp_path / "profond.json"
    path.write_text('{"marches": ' + "[" * 100_000 + "]" * 100_000 + "}")
    result = app.test_cli_runner().invoke(args=["import", "contracts", str(path)])
    assert result.exit_code == 1, result.output
    assert "imbriqué sur 100001 niveaux" in result.output
    assert "RecursionError" not in result.output and "Traceback" not in result.output


def test_a_nul_in_a_query_argument_is_a_french_400(client, login_as):
    login_as("admin")
    response = client.get("/imports/?x=a%00b")
    assert response.status_code == 400 and "caractère nul" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("kind", "field", "value", "message"),
    [
        ("purchase_line", "amount_ht", "1e308", "Nombre hors limites"),
        ("purchase_line", "amount_ht", "1000000000000", "Montant hors limites"),
        ("purchase_line", "amount_ht", "nan", "n'est pas un nombre"),
        ("purchase_line", "amount_ht", "inf", "n'est pas un nombre"),
        ("purchase_line", "quantity", "1e308", "Nombre hors limites"),
        ("purchase_line", "quantity", "-inf", "n'est pas un nombre"),
        ("matrix_entry", "unit_price", "1e12", "Montant hors limites"),
        ("matrix_entry", "unit_price", "1e13", "Nombre hors limites"),
        ("contract", "offers_received", "3000000000", "trop grand"),
        ("contract", "amount", "NaN", "n'est pas un nombre"),
    ],
)
def test_a_correction_value_outside_its_column_is_a_form_error(kind, field, value, message):
    with pytest.raises(ValidationError, match=message):
        editable_field(kind, field).parse(value)


@pytest.mark.parametrize(
    ("kind", "field", "value", "parsed"),
    [
        ("purchase_line", "amount_ht", "999 999 999 999,99", 999_999_999_999.99),
        ("purchase_line", "quantity", "-2,5", -2.5),
        ("contract", "offers_received", "12", 12),
    ],
)
def test_values_that_fit_are_still_accepted(kind, field, value, parsed):
    assert editable_field(kind, field).parse(value) == parsed
