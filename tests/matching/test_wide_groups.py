"""A label bought from many suppliers: its group's supplier list is long, and still kept.

On PostgreSQL a b-tree entry holds at most 2,704 bytes: an index over the whole supplier list of
a group made the groups' upkeep fail — the import, the mapping — once a label without reference
had a few dozen suppliers (a « BAGUETTE » bought from every lycée's baker).
"""

from __future__ import annotations

import random

import sqlalchemy as sa

from workbench.matching import groups
from workbench.matching.models import ArticleGroupRow as ArticleGroup
from workbench.matching.queries import supplier_choices


def test_a_label_bought_from_many_suppliers_keeps_its_group(session, make) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(5)
    site = make.site()
    for _ in range(120):
        name = "BOULANGERIE " + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(40))
        supplier = make.supplier(siret=f"{rng.randrange(10**13, 10**14)}", name=name)
        make.purchase_line(
            site,
            label="BAGUETTE TRADITION 250G",
            reference=None,
            supplier=supplier,
            nomenclature_code=None,
        )
    session.flush()
    groups.rebuild(session)
    session.flush()
    row = session.execute(
        sa.select(ArticleGroup.supplier_count, ArticleGroup.line_count).where(
            ArticleGroup.site_id == site.id, ArticleGroup.key.like("lbl:%")
        )
    ).one()
    assert tuple(row) == (120, 120)
    choices = supplier_choices(session, ArticleGroup.site_id == site.id)
    assert len(choices) == 120 and all(name.startswith("BOULANGERIE ") for _, name in choices)
