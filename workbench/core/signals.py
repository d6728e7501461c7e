"""Signals between features (blinker), so that e.g. imports need not import the rules engine.

``records_changed``: sent by any operation that inserted or changed operational records, inside
its transaction. Receivers (the rules engine) re-check exactly those records.

    records_changed.send(session, record_kind="purchase_line", record_ids=[1, 2, 3])

``record_ids=None`` means "all records of that kind". ``fields=("nomenclature_code",)`` (optional)
names the only columns that changed, so that rules whose verdict cannot depend on them keep theirs
(mapping articles does not re-judge duplicates).
"""

from blinker import Namespace

_signals = Namespace()

records_changed = _signals.signal("records-changed")
