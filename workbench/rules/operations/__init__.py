"""Running the rules and keeping anomalies in step with the data. Flushes, never commits.

Lifecycle applied by :func:`run_rules`, per (rule, record kind, record, field):

- a new failure inserts an ``open`` anomaly (bulk insert; counted in the run's journal entry);
- an active (open/claimed/proposed) anomaly still failing keeps its status and is not written
  at all, unless its value/message/severity/scope changed (updated in bulk); the time of the
  run is kept once, in ``rule_runs`` (``last_seen_at`` is when it was last opened or reopened);
- a ``resolved`` anomaly failing again is reopened (``anomaly.reopened`` journal entry);
- an active anomaly no longer failing, within the checked scope, is resolved
  (``anomaly.closed_auto``, reason ``fixed``);
- a ``dismissed`` anomaly stays dismissed whatever the data says;
- a *disabled* rule produces no failures: its active anomalies are resolved on the next run
  that covers it (reason ``rule_disabled``) and reopen when the rule is enabled again.

A run that changes nothing writes nothing to the journal (one ``rule_runs`` row only).

Purchase lines are evaluated lycée by lycée in chunks of at most ``LINE_CHUNK`` lines (every
purchase rule looks at one line, or at the lines of one lycée and day), so memory is bounded
whatever the table size; a re-check loads the changed lines (with their lycée-and-day context
only when the duplicate rule runs). On PostgreSQL, new anomalies and refreshed values go
through ``COPY`` into a staging table; big runs end with ``ANALYZE anomalies``.
"""

from workbench.rules.operations.recheck import on_records_changed, recheck_records
from workbench.rules.operations.run import (
    MAX_INCREMENTAL_LINES,
    RuleCount,
    RunResult,
    _tables_for,
    last_run,
    run_rules,
)
from workbench.rules.operations.settings import effective_rule, effective_rules, update_rule_setting

__all__ = [
    "MAX_INCREMENTAL_LINES",
    "RuleCount",
    "RunResult",
    "_tables_for",
    "effective_rule",
    "effective_rules",
    "last_run",
    "on_records_changed",
    "recheck_records",
    "run_rules",
    "update_rule_setting",
]
