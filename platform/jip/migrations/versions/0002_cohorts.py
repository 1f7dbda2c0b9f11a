"""cohorts and indexes for browsing

Revision ID: 0002_cohorts
Revises: 0001
Create Date: 2026-11-28 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_cohorts"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cohorts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cohorts_name", "cohorts", ["name"])
    op.create_table(
        "cohort_series",
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("series_uid", sa.String(length=64), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohorts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("cohort_id", "series_uid"),
    )
    op.create_index("ix_cohort_series_series_uid", "cohort_series", ["series_uid"])
    # browsing: the catalog's incremental sync reads series by last_received (indexed in
    # 0001); study timelines read studies by patient and date
    op.create_index("ix_studies_patient_date", "studies", ["patient_pk", "study_date"])


def downgrade() -> None:
    op.drop_index("ix_studies_patient_date", table_name="studies")
    op.drop_index("ix_cohort_series_series_uid", table_name="cohort_series")
    op.drop_table("cohort_series")
    op.drop_index("ix_cohorts_name", table_name="cohorts")
    op.drop_table("cohorts")
