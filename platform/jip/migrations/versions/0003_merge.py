"""merge the 0002 feature branches (no schema change)

The four 0002 revisions were made on separate branches from 0001; this joins them so
the script has one head and a plain ``alembic upgrade head`` works.

Revision ID: 0003_merge
Revises: 0002_cohorts, 0002_pipelines, 0002_qido, 0002_query
Create Date: 2026-11-28 21:13:09
"""

from __future__ import annotations

revision = "0003_merge"
down_revision = ("0002_cohorts", "0002_pipelines", "0002_qido", "0002_query")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
