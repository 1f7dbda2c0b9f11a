"""query indexes: newest-first study/series searches and patient name prefixes

Revision ID: 0002_query
Revises: 0001
Create Date: 2026-11-28 03:40:00

QIDO-RS and C-FIND order studies and series by (study date desc, UID desc); these
indexes give that order for free, alone or after a modality match, so a page of
results never sorts the whole table. lower(patient_name) serves case-insensitive
person name prefixes ("Mue*").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_query"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_series_date_uid", "series", ["study_date", "series_uid"])
    op.create_index(
        "ix_series_modality_date_uid", "series", ["modality", "study_date", "series_uid"]
    )
    op.create_index("ix_studies_date_uid", "studies", ["study_date", "study_uid"])
    op.create_index("ix_patients_name_lower", "patients", [sa.text("lower(patient_name)")])


def downgrade() -> None:
    op.drop_index("ix_patients_name_lower", table_name="patients")
    op.drop_index("ix_studies_date_uid", table_name="studies")
    op.drop_index("ix_series_modality_date_uid", table_name="series")
    op.drop_index("ix_series_date_uid", table_name="series")
