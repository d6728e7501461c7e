"""The application's URL tables, one blueprint per feature."""

from workbench.audit.blueprint import bp as audit_bp
from workbench.auth.blueprint import bp as auth_bp
from workbench.home.blueprint import bp as home_bp

BLUEPRINTS = [auth_bp, home_bp, audit_bp]
