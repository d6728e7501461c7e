"""Thin handlers for login and user administration."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm

from workbench.auth import bookkeeping, operations
from workbench.auth.forms import LoginForm, UserForm
from workbench.auth.models import User
from workbench.core.errors import ValidationError
from workbench.core.permissions import roles_required
from workbench.core.security import is_safe_next
from workbench.db import reads_first
from workbench.extensions import db
from workbench.reference.models import Direction, Site


@reads_first
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        # read (and hash) outside any write lock, then write the bookkeeping apart: a busy
        # database delays the journal entry, never the login (workbench.auth.bookkeeping)
        attempt = operations.check_login(db.session, form.email.data, form.password.data)
        db.session.commit()  # ends the read transaction; nothing was written
        succeeded = bookkeeping.write_login(
            attempt,
            max_attempts=current_app.config["LOGIN_MAX_ATTEMPTS"],
            lock_minutes=current_app.config["LOGIN_LOCK_MINUTES"],
        )
        user = db.session.get(User, attempt.user_id) if succeeded else None
        if user is None:
            flash("Identifiants incorrects, ou compte temporairement bloqué.", "danger")
            return render_template("auth/login.html", form=form), 401
        login_user(user)
        target = request.args.get("next")
        return redirect(target if is_safe_next(target) else url_for("home.index"))
    return render_template("auth/login.html", form=form)


@login_required
def logout():  # type: ignore[no-untyped-def]
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    operations.record_logout(db.session, current_user)
    db.session.commit()
    logout_user()
    flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("auth.login"))


@roles_required("admin")
def user_list():  # type: ignore[no-untyped-def]
    users = db.session.scalars(sa.select(User).order_by(User.role, User.email)).all()
    return render_template("auth/users.html", users=users)


@roles_required("admin")
def user_edit(user_id: int | None = None):  # type: ignore[no-untyped-def]
    user = db.get_or_404(User, user_id) if user_id is not None else None
    form = UserForm(obj=None)
    sites = db.session.scalars(sa.select(Site).order_by(Site.uai)).all()
    directions = db.session.scalars(sa.select(Direction).order_by(Direction.code)).all()
    form.sites.choices = [(s.uai, f"{s.uai} — {s.name}") for s in sites]
    form.direction.choices = [("", "—")] + [(d.code, f"{d.code} — {d.name}") for d in directions]
    if request.method == "GET" and user is not None:
        form.email.data, form.name.data, form.role.data = user.email, user.name, user.role
        form.sites.data = [s.uai for s in user.sites]
        form.direction.data = user.direction_code or ""
        form.is_active.data = user.is_active_account
    if form.validate_on_submit():
        try:
            if user is None:
                if not form.password.data:
                    raise ValidationError("Le mot de passe est obligatoire pour un nouveau compte.")
                user = operations.create_user(
                    db.session,
                    form.email.data,
                    form.role.data,
                    form.password.data,
                    name=form.name.data or "",
                    site_uais=form.sites.data,
                    direction=form.direction.data or None,
                    is_active=form.is_active.data,
                )
            else:
                operations.update_user(
                    db.session,
                    user,
                    email=form.email.data,
                    name=form.name.data or "",
                    role=form.role.data,
                    site_uais=form.sites.data,
                    direction=form.direction.data or None,
                    is_active=form.is_active.data,
                    password=form.password.data or None,
                )
        except ValidationError as error:
            db.session.rollback()
            flash(error.message, "danger")
            return render_template("auth/user_edit.html", form=form, user=user), 400
        db.session.commit()
        flash(f"Compte {user.email} enregistré.", "success")
        return redirect(url_for("auth.users"))
    return render_template("auth/user_edit.html", form=form, user=user)
