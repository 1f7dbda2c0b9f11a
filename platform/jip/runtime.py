"""Everything one running site holds: settings, store, index, ingest, events."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from jip.config import Settings
from jip.events import SeriesCompletionMonitor
from jip.index.db import make_engine, make_sessionmaker, migrate
from jip.index.writer import IndexWriter
from jip.ingest import Ingestor
from jip.store import ObjectStore, make_store

if TYPE_CHECKING:
    from jip.pipelines.service import PipelineService

log = logging.getLogger(__name__)


class Runtime:
    """Built once per process; adapters (HTTP, DICOM, CLI) receive it, never globals."""

    def __init__(self, settings: Settings) -> None:
        settings.ensure_dirs()
        self.settings = settings
        self.engine: Engine = make_engine(settings.resolved_database_url)
        migrate(self.engine)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)
        self.store: ObjectStore = make_store(settings)
        self.writer = IndexWriter(self.sessions)
        self.ingestor = Ingestor(self.store, self.writer)
        self.series_events = SeriesCompletionMonitor(self.writer, settings.series_quiet_seconds)
        self._pipelines: PipelineService | None = None

    @property
    def pipelines(self) -> PipelineService:
        """Algorithms, runs and the workflow engine (built on first use)."""
        if self._pipelines is None:
            from jip.pipelines.service import PipelineService

            self._pipelines = PipelineService(self)
        return self._pipelines

    def start_background(self) -> None:
        from jip.thumbnails import prerender_on_complete

        prerender_on_complete(self)  # thumbnails ready before the UI asks (wado)
        self.series_events.start()
        self.pipelines.start()

    def close(self) -> None:
        self.series_events.stop()
        if self._pipelines is not None:
            self._pipelines.stop()
        self.writer.close()
        self.store.close()
        self.engine.dispose()
