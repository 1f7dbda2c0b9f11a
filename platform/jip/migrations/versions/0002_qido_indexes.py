"""QIDO-RS speed: representative instances by index seek, patient searches index-only

Revision ID: 0002_qido
Revises: 0001
Create Date: 2026-11-28 07:20:00

Attributes without an index column are answered from a series' (study's)
representative instance, the one with the smallest SOP Instance UID. With
(series_uid, sop_instance_uid) that instance is one index seek instead of a read of
every instance row of the series; these composite indexes replace the single-column
ones (same leading column, so every query that used those uses these), which keeps
the number of indexes an ingested instance updates unchanged.

(study_uid, study_date, series_uid) lets a series search driven by a patient or
study filter find and order the series of those studies from the index alone.
"""

from __future__ import annotations

from alembic import op

revision = "0002_qido"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_instances_series_sop", "instances", ["series_uid", "sop_instance_uid"])
    op.drop_index("ix_instances_series_uid", table_name="instances")
    op.create_index("ix_instances_study_sop", "instances", ["study_uid", "sop_instance_uid"])
    op.drop_index("ix_instances_study_uid", table_name="instances")
    op.create_index("ix_series_study_date_uid", "series", ["study_uid", "study_date", "series_uid"])


def downgrade() -> None:
    op.drop_index("ix_series_study_date_uid", table_name="series")
    op.create_index("ix_instances_study_uid", "instances", ["study_uid"])
    op.drop_index("ix_instances_study_sop", table_name="instances")
    op.create_index("ix_instances_series_uid", "instances", ["series_uid"])
    op.drop_index("ix_instances_series_sop", table_name="instances")
