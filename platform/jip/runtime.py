"""Everything one running site holds: settings, store, index, ingest, events."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from jip.config import Settings
from jip.errors import StorageError
from jip.events import SeriesCompletionMonitor
from jip.index.db import make_engine, make_sessionmaker, migrate
from jip.index.write_lock import IndexWriteLock, index_lock_path
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
        try:
            self.engine: Engine = make_index_engine(settings)
        except ValueError as exc:
            raise StorageError(f"invalid JIP_DATABASE_URL: {exc}") from exc
        try:
            migrate(self.engine)
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise StorageError(
                f"cannot open the index: {type(exc).__name__}: {str(exc).splitlines()[0]}"
            ) from exc
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)
        self.store: ObjectStore = make_store(settings)
        self.index_lock = IndexWriteLock(index_lock_path(settings.data_dir))
        self.writer = IndexWriter(self.sessions, self.index_lock)
        self.ingestor = Ingestor(self.store, self.writer)
        if settings.store_backend == "filesystem" and self.engine.dialect.name == "sqlite":
            from jip.index.recovery import reindex_lost_objects
            from jip.store.filesystem import FilesystemStore

            assert isinstance(self.store, FilesystemStore)
            reindex_lost_objects(self.store, self.sessions, self.ingestor)
        self.series_events = SeriesCompletionMonitor(self.writer, settings.series_quiet_seconds)
        self._pipelines: PipelineService | None = None

    @property
    def pipelines(self) -> PipelineService:
        """Algorithms, runs and the workflow engine (built on first use)."""
        if self._pipelines is None:
            from jip.pipelines.service import PipelineService

            self._pipelines = PipelineService(self)
        return self._pipelines

    def describe_backends(self) -> dict[str, str]:
        """Where the bytes and the index live, for people (no passwords)."""
        return describe_backends(self.settings)

    def start_background(self) -> None:
        from jip.thumbnails import prerender_on_complete

        prerender_on_complete(self)  # thumbnails ready before the UI asks (wado)
        from jip.segmentations.warm import predecode_on_complete

        predecode_on_complete(self)  # SEG overlays decoded before the viewer asks (segview)
        self.series_events.start()
        self.pipelines.start()

    def close(self) -> None:
        self.series_events.stop()
        if self._pipelines is not None:
            self._pipelines.stop()
        self.writer.close()
        self.index_lock.close()
        self.store.close()
        self.engine.dispose()


def make_index_engine(settings: Settings) -> Engine:
    """The index engine of this site, for the site process and its storage workers.
    The folder store lets the SQLite index skip its own flush (``index.recovery``)."""
    recoverable = settings.store_backend == "filesystem"
    return make_engine(
        settings.resolved_database_url, sqlite_synchronous="NORMAL" if recoverable else "FULL"
    )


def describe_backends(settings: Settings) -> dict[str, str]:
    """``{"store": ..., "index": ...}`` as one line each, credentials left out."""
    from sqlalchemy.engine import make_url

    if settings.store_backend == "s3":
        scheme = "https" if settings.s3_secure else "http"
        store = f"s3 {scheme}://{settings.s3_endpoint}/{settings.s3_bucket}"
    else:
        store = f"filesystem {(settings.data_dir / 'objects').resolve()}"
    url = make_url(settings.resolved_database_url)
    index = f"{url.get_backend_name()} {url.render_as_string(hide_password=True)}"
    return {"store": store, "index": index}
