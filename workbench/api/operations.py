"""Token operations: create, revoke, authenticate (they flush and journal, never commit)."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.api.models import TOKEN_KINDS, ApiToken
from workbench.audit.operations import record
from workbench.core.errors import ValidationError
from workbench.db import utcnow
from workbench.reference.models import Site

TOKEN_PREFIX = "wb_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _snapshot(token: ApiToken) -> dict:
    return {
        "name": token.name,
        "kinds": token.kind_list,
        "sites": list(token.site_uais or []),
        "prefix": token.prefix,
        "revoked": token.is_revoked,
    }


def create_token(
    session: Session, name: str, kinds: list[str], site_uais: list[str] | None = None
) -> tuple[ApiToken, str]:
    """A new token for the source system ``name``; returns it and its secret (shown once)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError("Le nom du jeton est obligatoire (100 caractères au plus).")
    if session.scalar(sa.select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise ValidationError(
            f"Un jeton nommé « {name} » existe déjà (même révoqué) : choisissez un autre nom."
        )
    kinds = [k.strip() for k in kinds if k.strip()]
    unknown = sorted(set(kinds) - set(TOKEN_KINDS))
    if not kinds or unknown:
        raise ValidationError(
            "Types de lots inconnus ou absents"
            + (f" ({', '.join(unknown)})" if unknown else "")
            + " ; types possibles : "
            + ", ".join(TOKEN_KINDS)
            + "."
        )
    uais = sorted({u.strip().upper() for u in site_uais or [] if u.strip()})
    if uais:
        known = set(session.scalars(sa.select(Site.uai).where(Site.uai.in_(uais))))
        missing = [u for u in uais if u not in known]
        if missing:
            raise ValidationError("Lycée(s) inconnu(s) : " + ", ".join(missing) + ".")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[:10],
        kinds=",".join(k for k in TOKEN_KINDS if k in kinds),
        site_uais=uais,
    )
    session.add(token)
    session.flush()
    record(
        session,
        "api_token.create",
        target_kind="api_token",
        target_id=token.id,
        target_label=name,
        after=_snapshot(token),
    )
    return token, secret


def revoke_token(session: Session, name: str) -> ApiToken:
    token = session.scalar(sa.select(ApiToken).where(ApiToken.name == name))
    if token is None:
        raise ValidationError(f"Aucun jeton nommé « {name} ».")
    if token.is_revoked:
        raise ValidationError(f"Le jeton « {name} » est déjà révoqué.")
    before = _snapshot(token)
    token.revoked_at = utcnow()
    session.flush()
    record(
        session,
        "api_token.revoke",
        target_kind="api_token",
        target_id=token.id,
        target_label=name,
        before=before,
        after=_snapshot(token),
    )
    return token


def authenticate(session: Session, secret: str | None) -> tuple[ApiToken | None, str]:
    """The token whose secret is ``secret`` and ``"ok"``; else the reason of the refusal.

    A revoked token is returned with ``"revoked"`` (so the refusal is journaled against it).
    """
    if not secret:
        return None, "missing"
    token = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if token is None:
        return None, "unknown"
    if token.is_revoked:
        return token, "revoked"
    token.last_used_at = utcnow()
    return token, "ok"


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(sa.select(ApiToken).order_by(ApiToken.name)))
