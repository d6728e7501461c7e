"""Signals between features (blinker), so that e.g. imports need not import the rules engine.

``records_changed``: sent by any operation that inserted or changed operational records, inside
its transaction. Receivers (the rules engine) re-check exactly those records.

    records_changed.send(session, record_kind="purchase_line", record_ids=[1, 2, 3])

``record_ids=None`` means "all records of that kind".
"""

from blinker import Namespace

_signals = Namespace()

records_changed = _signals.signal("records-changed")
