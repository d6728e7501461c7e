"""Manual rules: anomalies that people raise, not ``check``.

``MATRIX_REPORTED``: a canteen team finds that a supplier's matrix, not its purchase line, is
wrong (the matrix says no label where the invoice shows BIO, say). The report lands in the
direction's « Fournisseurs » queue on the matrix entry; it closes when a correction of that
matrix field is applied.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from workbench.rules.registry import Rule, empty_failures, register


@register
class MatrixReported(Rule):
    code = "MATRIX_REPORTED"
    title = "Matrice fournisseur signalée erronée par une cantine"
    explanation = (
        "Une équipe de cantine a comparé une ligne d'achat avec la matrice du fournisseur et "
        "estime que c'est la matrice qui est fausse (label, origine ou code). Tant qu'elle n'est pas "
        "corrigée, chaque ligne de cet article sera signalée à tort dans les files des lycées. "
        "Vérifiez auprès du fournisseur (fiche produit, certificat) puis corrigez l'article de "
        "la matrice, ou écartez le signalement avec un commentaire."
    )
    domain = "suppliers"
    record_kind = "matrix_entry"
    severity = "warning"
    owner_role = "direction"
    queue = "suppliers"
    approval_policy = "approval"
    is_manual = True

    def check(self, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> pd.DataFrame:
        return empty_failures()
