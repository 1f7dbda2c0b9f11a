"""Re-index objects whose index rows a power loss took: the folder store is the truth.

With the folder store and the SQLite index, a C-STORE is acknowledged once the object
file is fsynced and its index rows are committed to SQLite's write-ahead log, without
a second flush for the log (``synchronous=NORMAL``): that flush cost a quarter of the
ingest rate. A process crash loses nothing (the log is in the OS's cache); an OS crash
or power loss can lose the log's last transactions - only a suffix, never a hole - but
never the objects. So on start-up every object file written since shortly before the
newest surviving index row, and not indexed, is indexed again from its own bytes.

An unindexed file may also be one whose flush the power loss cut short: it was never
acknowledged, and its bytes may be torn. It is indexed again only if its bytes still
hash to its name; otherwise it is removed, so no torn copy ever enters the index under
a key of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jip.errors import JIPError
from jip.index.models import Instance, Series
from jip.ingest import Ingestor
from jip.store.base import content_key
from jip.store.filesystem import FilesystemStore

log = logging.getLogger(__name__)

# files this much older than the newest surviving row are checked too (clock steps,
# writes that were in flight when the last surviving transaction committed)
MARGIN_SECONDS = 300.0
_CHUNK = 500


def reindex_lost_objects(
    store: FilesystemStore, sessions: sessionmaker[Session], ingestor: Ingestor
) -> int:
    """Index object files of ``store`` that recent index rows do not reference;
    returns how many were indexed again."""
    with sessions() as session:
        # the series row is bumped in the same transaction as each instance insert:
        # its table is a hundred times smaller than the instances'
        newest = session.execute(select(func.max(Series.last_received))).scalar()
    cutoff = 0.0 if newest is None else newest.replace(tzinfo=UTC).timestamp() - MARGIN_SECONDS
    restored = 0
    for path in _unindexed(store.files_since(cutoff), sessions):
        try:
            data = path.read_bytes()
            if content_key(data) != path.name:
                log.warning("object %s was torn before it was acknowledged: removed", path.name)
                store.delete(path.name)
                continue
            ingestor.ingest(data)
        except (JIPError, OSError) as exc:
            log.warning("object %s could not be indexed again: %s", path.name, exc)
            continue
        restored += 1
    if restored:
        log.warning("indexed %d objects again whose index rows were lost", restored)
    return restored


def _unindexed(paths: Iterator[Path], sessions: sessionmaker[Session]) -> Iterator[Path]:
    chunk: list[Path] = []
    for path in paths:
        chunk.append(path)
        if len(chunk) == _CHUNK:
            yield from _without_rows(chunk, sessions)
            chunk = []
    yield from _without_rows(chunk, sessions)


def _without_rows(paths: list[Path], sessions: sessionmaker[Session]) -> list[Path]:
    if not paths:
        return []
    with sessions() as session:
        query = select(Instance.object_key).where(Instance.object_key.in_([p.name for p in paths]))
        known = set(session.execute(query).scalars())
    return [p for p in paths if p.name not in known]
