"""The grouped view filtered on « ouverte », region-wide, reads the maintained groups: those
holding anomalies in hand are read from their open anomalies, the others as stored — the same
groups as grouping every open anomaly."""

from __future__ import annotations

from tests.review.test_queue_views_scale import _matrix_groups
from workbench.review import groups as groups_module
from workbench.review.groups import grouped_queue
from workbench.review.queries import QueueFilter
from workbench.rules import group_counts

STORED = groups_module._stored_groups


def _seen(session, user, filt, sort="nombre"):  # type: ignore[no-untyped-def]
    found, total = grouped_queue(session, user, "matrix", filt, sort=sort, per_page=100)
    rows = [
        (g.rule_code, g.key, g.count, g.severity, g.oldest, g.newest, g.sample_id, g.field)
        for g in found
    ]
    return rows, total


def test_open_groups_from_the_maintained_groups_are_the_grouped_open_anomalies(
    session, make, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(groups_module, "SMALL_RULE", 0)  # as if every rule were big
    site, supplier = make.site(), make.supplier()
    made = _matrix_groups(make, site, supplier, "OP-", [4, 3, 2, 5])
    admin = make.user(role="admin")
    session.flush()
    group_counts.settle(session)
    # in hand: the oldest anomaly of group 0 (its bounds move), every anomaly of group 2
    # (it leaves the view), one lone anomaly keyed by value
    group_zero = [a for a in made if a.group_key and a.group_key.endswith("OP-0")]
    oldest = min(group_zero, key=lambda a: (a.first_seen_at, a.id))
    held = [oldest, *(a for a in made if a.group_key and a.group_key.endswith("OP-2"))]
    held.append(next(a for a in made if a.rule_code == "MATRIX_ARTICLE_ABSENT"))
    for n, anomaly in enumerate(held):
        anomaly.status = "claimed" if n % 2 else "proposed"
    session.flush()
    read: list[object] = []

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = STORED(*args, **kwargs)
        read.append(found is not None)
        return found

    for settled in (False, True):  # the changed groups dirty, then settled
        if settled:
            group_counts.settle(session)
        for filt in (
            QueueFilter(status="open"),
            QueueFilter(status="open", severity="warning"),
            QueueFilter(status="open", rule_code="MATRIX_LABEL_MISMATCH"),
        ):
            for sort in ("nombre", "anciens", "recents"):
                monkeypatch.setattr(groups_module, "_stored_groups", lambda *a, **k: None)
                expected = _seen(session, admin, filt, sort)
                monkeypatch.setattr(groups_module, "_stored_groups", spy)
                read.clear()
                assert _seen(session, admin, filt, sort) == expected, (settled, filt, sort)
                assert read == [True], (filt, sort)  # the maintained groups were read
                assert expected[1] and not any(k.endswith("OP-2") for _, k, *_ in expected[0])
    expected_open = _seen(session, admin, QueueFilter(status="open"))
    # more groups in hand than a few: the anomalies are grouped
    monkeypatch.setattr(group_counts, "FEW_DIRTY", 1)
    read.clear()
    _seen(session, admin, QueueFilter(status="open"))
    assert read == [False]
    # rules all small, a search with « ouverte », or another state: the anomalies are grouped
    monkeypatch.setattr(group_counts, "FEW_DIRTY", 200)
    monkeypatch.setattr(groups_module, "SMALL_RULE", 10**9)
    read.clear()
    assert _seen(session, admin, QueueFilter(status="open")) == expected_open
    assert read == [False]
    monkeypatch.setattr(groups_module, "SMALL_RULE", 0)
    for filt in (QueueFilter(status="open", search="bio"), QueueFilter(status="claimed")):
        read.clear()
        _seen(session, admin, filt)
        assert read == [False], filt
