"""Thin handlers for login and user administration."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm

from workbench.auth import bookkeeping, operations, powers
from workbench.auth.forms import AccountRequestDecisionForm, LoginForm, UserForm
from workbench.auth.models import AccountRequest, User
from workbench.core.edge import FAILED, commit, commit_or_flash, end_read
from workbench.core.errors import ValidationError
from workbench.core.pagination import paginate
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
        config = current_app.config
        limits = operations.login_limits(
            config["LOGIN_MAX_ATTEMPTS"],
            config["LOGIN_LOCK_MINUTES"],
            config["LOGIN_MAX_ATTEMPTS_PER_IP"],
        )
        # read (and hash) outside any write lock, then write the bookkeeping apart: a busy
        # database delays the journal entry, never the login (workbench.auth.bookkeeping)
        attempt = operations.check_login(
            db.session, form.email.data, form.password.data, ip=request.remote_addr, limits=limits
        )
        end_read()  # nothing was written
        succeeded = bookkeeping.write_login(attempt)
        if attempt.refusal is not None:
            flash(attempt.refusal.message, "danger")
            response = current_app.make_response(
                (render_template("auth/login.html", form=form), 429)
            )
            response.headers["Retry-After"] = str(attempt.refusal.retry_after)
            return response
        user = db.session.get(User, attempt.user_id) if succeeded else None
        if user is None:
            flash("Identifiants incorrects.", "danger")
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
    commit(lambda: operations.record_logout(db.session, current_user))
    logout_user()
    flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("auth.login"))


@roles_required("admin")
def user_list():  # type: ignore[no-untyped-def]
    listing = paginate(db.session, sa.select(User).order_by(User.role, User.email, User.id))
    return render_template("auth/users.html", users=listing.items, listing=listing)


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

        def save() -> User:
            if user is None:
                if not form.password.data:
                    raise ValidationError("Le mot de passe est obligatoire pour un nouveau compte.")
                return operations.create_user(
                    db.session,
                    form.email.data,
                    form.role.data,
                    form.password.data,
                    name=form.name.data or "",
                    site_uais=form.sites.data,
                    direction=form.direction.data or None,
                    is_active=form.is_active.data,
                    by=current_user,
                )
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
                by=current_user,
            )
            return user

        saved = commit_or_flash(save, refusal_as_message=True)
        if saved is FAILED:
            return render_template("auth/user_edit.html", form=form, user=user), 400
        user = saved
        if user.id == current_user.id:
            login_user(user)  # this session carries on with the new session version
        flash(f"Compte {user.email} enregistré.", "success")
        for pending in powers.pending_requests(db.session, user):
            flash(
                f"{pending.kind_label} en attente : un autre membre du service juridique ou de "
                "l'administration doit l'approuver (Utilisateurs › Demandes).",
                "warning",
            )
        return redirect(url_for("auth.users"))
    pending = powers.pending_requests(db.session, user) if user is not None else []
    return render_template("auth/user_edit.html", form=form, user=user, pending=pending)


@roles_required("legal", "admin")
def account_requests():  # type: ignore[no-untyped-def]
    listing = paginate(db.session, powers.recent_statement())
    return render_template(
        "auth/requests.html",
        pending=powers.pending_requests(db.session),
        recent=listing.items,
        listing=listing,
        form=AccountRequestDecisionForm(),
    )


@roles_required("legal", "admin")
def account_request_decide(request_id: int):  # type: ignore[no-untyped-def]
    account_request = db.get_or_404(AccountRequest, request_id)
    form = AccountRequestDecisionForm()
    if not form.validate_on_submit():
        abort(400)
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        abort(400)
    decided = commit_or_flash(
        lambda: powers.decide(
            db.session,
            account_request,
            current_user,
            approve=decision == "approve",
            comment=form.comment.data or "",
        ),
        refusal_as_message=True,
    )
    if decided is FAILED:
        return redirect(url_for("auth.account_requests"))
    flash(
        f"Demande {'approuvée' if decision == 'approve' else 'refusée'} "
        f"pour {account_request.user.email}.",
        "success",
    )
    return redirect(url_for("auth.account_requests"))
