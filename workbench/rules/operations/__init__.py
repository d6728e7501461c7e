"""Running the rules and keeping anomalies in step with the data. Flushes, never commits.

Lifecycle applied by :func:`run_rules`, per (rule, record kind, record, field):

- a new failure inserts an ``open`` anomaly (bulk insert; counted in the run's journal entry);
- an active (open/claimed/proposed) anomaly still failing keeps its status; ``last_seen_at``,
  and value/message/severity/scope if they changed, are updated in bulk;
- a ``resolved`` anomaly failing again is reopened (``anomaly.reopened`` journal entry);
- an active anomaly no longer failing, within the checked scope, is resolved
  (``anomaly.closed_auto``, reason ``fixed``);
- a ``dismissed`` anomaly stays dismissed whatever the data says;
- a *disabled* rule produces no failures: its active anomalies are resolved on the next run
  that covers it (reason ``rule_disabled``) and reopen when the rule is enabled again.

A run that changes nothing writes nothing to the journal.
"""

from workbench.rules.operations.recheck import on_records_changed, recheck_records
from workbench.rules.operations.run import (
    MAX_INCREMENTAL_LINES,
    RuleCount,
    RunResult,
    _tables_for,
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
    "on_records_changed",
    "recheck_records",
    "run_rules",
    "update_rule_setting",
]
