"""Setting up an instance from nothing: the first administrator account."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.auth.models import Role, User
from workbench.core.errors import ValidationError


def create_first_admin(session: Session, email: str, password: str, *, name: str = "") -> User:
    """Create the first account, an administrator; refused once any account exists."""
    from workbench.auth.operations import create_user

    if session.scalar(sa.select(sa.func.count(User.id))):
        raise ValidationError(
            "Des comptes existent déjà : `workbench init` ne sert qu'à créer le premier "
            "administrateur. Utilisez `workbench users create` ou `workbench import users`."
        )
    return create_user(session, email, Role.ADMIN, password, name=name)
