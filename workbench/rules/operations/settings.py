"""Effective rule settings (defaults overridden by the admin's) and their audited changes."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.audit.operations import record
from workbench.core.errors import NotFound, ValidationError
from workbench.db import utcnow
from workbench.rules.models import RuleSetting
from workbench.rules.registry import (
    APPROVAL_POLICIES,
    Rule,
    RuleView,
    all_rules,
    get_rule,
)

if TYPE_CHECKING:
    from workbench.rules.operations.run import RunResult

logger = logging.getLogger(__name__)


# -- settings ---------------------------------------------------------------------------------
def _view(rule: type[Rule], setting: RuleSetting | None) -> RuleView:
    params = rule.default_params()
    if setting is not None and setting.params:
        for p in rule.params:
            if p.name in setting.params:
                try:
                    params[p.name] = p.coerce(setting.params[p.name])
                except ValueError:
                    logger.warning(
                        "Ignoring invalid setting %s=%r of rule %s",
                        p.name,
                        setting.params[p.name],
                        rule.code,
                    )
    return RuleView(
        rule=rule,
        enabled=setting.is_enabled if setting is not None else rule.enabled_by_default,
        approval_policy=(
            setting.approval_policy
            if setting is not None and setting.approval_policy
            else rule.approval_policy
        ),
        params=params,
    )


def effective_rules(session: Session) -> dict[str, RuleView]:
    """Every registered rule with its effective settings (one SELECT of the overrides)."""
    settings = {s.rule_code: s for s in session.scalars(sa.select(RuleSetting))}
    return {code: _view(rule, settings.get(code)) for code, rule in sorted(all_rules().items())}


def effective_rule(session: Session, code: str) -> RuleView:
    """One rule with its effective settings (``NotFound`` for an unknown code)."""
    rule = get_rule(code)
    if rule is None:
        raise NotFound(f"Règle inconnue : {code}.")
    return _view(rule, session.get(RuleSetting, code))


def update_rule_setting(
    session: Session,
    code: str,
    *,
    enabled: bool | None = None,
    approval_policy: str | None = None,
    params: dict[str, Any] | None = None,
    user_id: int | None = None,
    rerun: bool = True,
) -> RunResult | None:
    """Change a rule's settings (validated by its :class:`Param` types), audited as
    ``rule.settings_changed`` with before/after; then re-run the rule so its anomalies follow
    (disabling resolves them). Returns the re-run's result, or None if nothing changed."""
    rule = get_rule(code)
    if rule is None:
        raise NotFound(f"Règle inconnue : {code}.")
    before_view = effective_rule(session, code)
    setting = session.get(RuleSetting, code)
    if setting is None:
        setting = RuleSetting(rule_code=code, is_enabled=rule.enabled_by_default, params={})
        session.add(setting)
    new_params = dict(setting.params or {})
    for name, raw in (params or {}).items():
        try:
            p = rule.param(name)
        except KeyError:
            raise ValidationError(f"Paramètre inconnu pour la règle {code} : {name}.") from None
        try:
            value = p.coerce(raw)
        except ValueError as error:
            raise ValidationError(str(error)) from None
        if value == p.default:
            new_params.pop(name, None)
        else:
            new_params[name] = value
    if approval_policy is not None:
        if approval_policy not in APPROVAL_POLICIES:
            raise ValidationError(f"Politique d'approbation inconnue : {approval_policy}.")
        setting.approval_policy = (
            None if approval_policy == rule.approval_policy else approval_policy
        )
    if enabled is not None:
        setting.is_enabled = bool(enabled)
    setting.params = new_params
    setting.updated_at = utcnow()
    setting.updated_by_id = user_id
    session.flush()
    after_view = effective_rule(session, code)
    before = _setting_snapshot(before_view)
    after = _setting_snapshot(after_view)
    if before == after:
        return None
    record(
        session,
        "rule.settings_changed",
        target_kind="rule",
        target_id=code,
        target_label=rule.title,
        before=before,
        after=after,
    )
    logger.info("Rule %s settings changed: %s -> %s", code, before, after)
    if not rerun:
        return None
    from workbench.rules.operations.run import run_rules  # run imports this module

    return run_rules(session, rule_codes=[code])


def _setting_snapshot(view: RuleView) -> dict[str, Any]:
    return {
        "enabled": view.enabled,
        "approval_policy": view.approval_policy,
        "params": dict(view.params),
    }
