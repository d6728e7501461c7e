"""Two identical imports at once: one applies, the other answers « déjà importé »."""

from __future__ import annotations

import io
import uuid

import sqlalchemy as sa

from tests.concurrency.conftest import logged_in, race
from workbench.demo import factories
from workbench.extensions import db
from workbench.imports.models import ImportBatch
from workbench.imports.operations import import_file


def _suppliers_file(tag: str) -> str:
    # a unique name makes a unique file (and sha256) per test run
    return f"siret;raison_sociale\n55204599900869;Laiterie {tag}\n21974022200019;Ferme {tag}\n"


def _batches(app, sha_of_name: str) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(ImportBatch.status).where(ImportBatch.file_name == sha_of_name)
            )
        )


def test_two_identical_imports_at_once_one_applies_one_is_a_duplicate(race_app, tmp_path):
    tag = uuid.uuid4().hex[:8]
    path = tmp_path / f"fournisseurs-{tag}.csv"
    path.write_text(_suppliers_file(tag), encoding="utf-8")

    def run():  # like `workbench import`: its own session, one commit
        with race_app.app_context():
            result = import_file(db.session, "suppliers", str(path))
            db.session.commit()
            return result.status, result.message

    results = race([run, run])
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sorted(status for status, _ in results) == ["applied", "duplicate"]
    assert any("déjà été importé" in message for _, message in results)
    assert _batches(race_app, path.name) == ["applied"]


def test_two_identical_uploads_at_once_never_answer_5xx(race_app, seed):
    tag = uuid.uuid4().hex[:8]
    email = seed(lambda s: factories.make_user(s, f"admin-{tag}@test.example", "admin").email)
    clients = [logged_in(race_app, email) for _ in range(2)]
    name = f"fournisseurs-web-{tag}.csv"
    content = _suppliers_file(tag).encode("utf-8")

    def upload(client):
        data = {
            "kind": "suppliers",
            "file_format": "",
            "site": "",
            "file": (io.BytesIO(content), name),
        }
        return lambda: client.post_form("/imports/", data, content_type="multipart/form-data")

    responses = race([upload(c) for c in clients])
    assert [getattr(r, "status_code", r) for r in responses] == [302, 302]
    assert _batches(race_app, name) == ["applied"]
    pages = [c.get("/imports/").get_data(as_text=True) for c in clients]
    assert sum("déjà été importé" in page for page in pages) == 1
