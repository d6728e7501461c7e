"""A served process settles its heap: the application's objects frozen out of the collector."""

from __future__ import annotations

import gc

from workbench.service import heap
from workbench.service.serve import application_factory


def test_a_served_application_freezes_its_heap_then_again_after_its_first_requests(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", f"sqlite:///{tmp_path / 'served.sqlite3'}")
    gc.unfreeze()
    try:
        app = application_factory()
        state = app.extensions["workbench.heap"]
        frozen = gc.get_freeze_count()
        # the application and its modules left the generations: a full collection walks few
        assert frozen > 50_000 and state["freezes"] == 1
        assert len(gc.get_objects(generation=2)) < frozen / 20
        client = app.test_client()
        counts = []
        for _ in range(12):
            client.get("/connexion").close()  # the freeze runs once the response is closed
            counts.append(state["freezes"])
        assert counts[0] == 2 and counts[8] == 2 and counts[9] == 3 and counts[11] == 3
        assert heap.settle(app) is app and state["freezes"] == 3  # once per application
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()


def test_a_test_application_is_not_settled(app):
    assert "workbench.heap" not in app.extensions
