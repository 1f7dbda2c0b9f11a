"""ORM rows of the index. Series rows carry denormalised study/patient fields so that
cohort filters and facet counts read one table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    patient_name: Mapped[str] = mapped_column(String(324), default="", index=True)
    birth_date: Mapped[str] = mapped_column(String(8), default="")
    sex: Mapped[str] = mapped_column(String(16), default="")


class Study(Base):
    __tablename__ = "studies"

    study_uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_pk: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    study_date: Mapped[str] = mapped_column(String(8), default="", index=True)
    study_time: Mapped[str] = mapped_column(String(32), default="")
    accession_number: Mapped[str] = mapped_column(String(16), default="", index=True)
    study_id: Mapped[str] = mapped_column(String(16), default="")
    description: Mapped[str] = mapped_column(String(64), default="")
    referring_physician: Mapped[str] = mapped_column(String(324), default="")
    institution: Mapped[str] = mapped_column(String(64), default="")
    modalities: Mapped[str] = mapped_column(String(128), default="")
    num_series: Mapped[int] = mapped_column(Integer, default=0)
    num_instances: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Series(Base):
    __tablename__ = "series"

    series_uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    study_uid: Mapped[str] = mapped_column(ForeignKey("studies.study_uid"), index=True)
    modality: Mapped[str] = mapped_column(String(16), default="", index=True)
    series_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    description: Mapped[str] = mapped_column(String(64), default="")
    body_part: Mapped[str] = mapped_column(String(64), default="", index=True)
    manufacturer: Mapped[str] = mapped_column(String(64), default="", index=True)
    model: Mapped[str] = mapped_column(String(64), default="")
    institution: Mapped[str] = mapped_column(String(64), default="")
    slice_thickness: Mapped[float | None] = mapped_column(Float, nullable=True)
    # denormalised from study/patient for one-table facets
    study_date: Mapped[str] = mapped_column(String(8), default="", index=True)
    patient_sex: Mapped[str] = mapped_column(String(16), default="")
    patient_age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    num_instances: Mapped[int] = mapped_column(Integer, default=0)
    first_received: Mapped[datetime] = mapped_column(DateTime)
    last_received: Mapped[datetime] = mapped_column(DateTime, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, index=True)


class Instance(Base):
    __tablename__ = "instances"

    sop_instance_uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    series_uid: Mapped[str] = mapped_column(ForeignKey("series.series_uid"))
    study_uid: Mapped[str] = mapped_column(String(64))
    sop_class_uid: Mapped[str] = mapped_column(String(64), default="")
    transfer_syntax_uid: Mapped[str] = mapped_column(String(64), default="")
    instance_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rows: Mapped[int | None] = mapped_column(Integer, nullable=True)
    columns: Mapped[int | None] = mapped_column(Integer, nullable=True)
    number_of_frames: Mapped[int | None] = mapped_column(Integer, nullable=True)
    object_key: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(DateTime)
    tags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


Index("ix_series_study_modality", Series.study_uid, Series.modality)

# query (QIDO-RS, C-FIND) ordering and name prefixes: migration 0002_query
Index("ix_series_date_uid", Series.study_date, Series.series_uid)
Index("ix_series_modality_date_uid", Series.modality, Series.study_date, Series.series_uid)
Index("ix_studies_date_uid", Study.study_date, Study.study_uid)
Index("ix_patients_name_lower", func.lower(Patient.patient_name))
# migration 0002_qido: representative-instance seeks, patient-driven series searches
Index("ix_instances_series_sop", Instance.series_uid, Instance.sop_instance_uid)
Index("ix_instances_study_sop", Instance.study_uid, Instance.sop_instance_uid)
Index("ix_series_study_date_uid", Series.study_uid, Series.study_date, Series.series_uid)
# migration 0002_cohorts: a patient's study timeline
Index("ix_studies_patient_date", Study.patient_pk, Study.study_date)
