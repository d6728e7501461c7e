"""Forms of the rules feature: one settings form per rule (enabled, approval policy, params)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField

from workbench.rules.registry import APPROVAL_POLICIES, RuleView


class RuleSettingsForm(FlaskForm):
    enabled = BooleanField("Active")
    approval_policy = SelectField("Corrections", choices=list(APPROVAL_POLICIES.items()))


def settings_form(view: RuleView, formdata: object = None) -> RuleSettingsForm:
    """A settings form for ``view``'s rule with one text field per param (``param_<name>``)."""

    class _Form(RuleSettingsForm):
        pass

    for p in view.rule.params:
        setattr(_Form, f"param_{p.name}", StringField(p.label))
    data = {"enabled": view.enabled, "approval_policy": view.approval_policy}
    data.update(
        {f"param_{p.name}": str(view.params.get(p.name, p.default)) for p in view.rule.params}
    )
    kwargs = {} if formdata is None else {"formdata": formdata}
    return _Form(data=data, prefix=view.code, **kwargs)
