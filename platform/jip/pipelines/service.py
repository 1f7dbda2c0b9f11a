"""What the API and CLI call: start, cancel and retry runs, and auto-triggers.

Built once per Runtime (``runtime.pipelines``); the registry is read at once, the
runner and the engine only when first needed, so a short-lived process (a CLI step)
pays for nothing it does not use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jip.errors import InvalidInputError, NotFoundError
from jip.index.models import Series
from jip.pipelines import state
from jip.pipelines.models import PipelineResult, PipelineRun, PipelineTrigger
from jip.pipelines.registry import AlgorithmRegistry
from jip.pipelines.runners import Runner, make_runner
from jip.pipelines.triggers import matches_filter, validate_filter

if TYPE_CHECKING:
    from jip.pipelines.engine import WorkflowEngine
    from jip.runtime import Runtime

log = logging.getLogger(__name__)

CohortResolver = Callable[[Session, str], list[str]]
MAX_SERIES_PER_RUN = 10000


class PipelineService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.registry = AlgorithmRegistry(runtime.settings.algorithms_dirs)
        self._runner: Runner | None = None
        self._engine: WorkflowEngine | None = None
        self.cohort_resolver: CohortResolver | None = None

    @property
    def runner(self) -> Runner:
        if self._runner is None:
            self._runner = make_runner(self.runtime.settings)
        return self._runner

    @runner.setter
    def runner(self, value: Runner) -> None:
        self._runner = value

    @property
    def engine(self) -> WorkflowEngine:
        if self._engine is None:
            from jip.pipelines.engine import make_workflow_engine

            self._engine = make_workflow_engine(self.runtime)
        return self._engine

    def start(self) -> None:
        """Start the engine and listen for completed series (auto-triggers)."""
        self.engine.start()
        self.runtime.series_events.subscribe(self._series_listener)

    def stop(self) -> None:
        if self._engine is not None:
            self._engine.stop()

    # -- runs ------------------------------------------------------------------------

    def create_run(
        self,
        *,
        algorithm: str,
        params: dict[str, Any] | None = None,
        series_uids: list[str] | None = None,
        cohort_id: str | None = None,
        trigger: str = "manual",
        submit: bool = True,
    ) -> PipelineRun:
        """Validate parameters against the algorithm's schema, resolve the series and
        queue one job per series. Raises ``NotFoundError`` for an unknown algorithm,
        cohort or series, ``InvalidParametersError`` (422) for bad parameters."""
        algo = self.registry.get(algorithm)
        filled = algo.manifest.validate_params(params or {})
        uids = list(dict.fromkeys(series_uids or []))
        with self.runtime.sessions() as s:
            if cohort_id is not None:
                uids += [u for u in self._cohort_series(s, cohort_id) if u not in uids]
            if not uids:
                raise InvalidInputError("a run needs series_uids or a cohort with series")
            if len(uids) > MAX_SERIES_PER_RUN:
                raise InvalidInputError(f"a run holds at most {MAX_SERIES_PER_RUN} series")
            rows = dict(
                s.execute(
                    select(Series.series_uid, Series.modality).where(Series.series_uid.in_(uids))
                ).all()
            )
        missing = [u for u in uids if u not in rows]
        if missing:
            raise NotFoundError(f"series not in the index: {', '.join(missing[:5])}")
        wrong = [u for u in uids if not algo.manifest.accepts_modality(rows[u])]
        if wrong:
            raise InvalidInputError(
                f"{algorithm} accepts {algo.manifest.inputs.modalities}; "
                f"series {wrong[0]} is {rows[wrong[0]] or 'of unknown modality'}"
            )
        settings = self.runtime.settings
        run = state.create_run(
            self.runtime.sessions,
            algorithm=algo.name,
            version=algo.manifest.version,
            image=algo.manifest.image,
            params=filled,
            series_uids=uids,
            engine=settings.workflow_engine,
            runner=settings.runner,
            trigger=trigger,
            cohort_id=cohort_id,
        )
        log.info(
            "run %s of %s on %d series", run.id, algo.name, len(uids), extra={"run_id": run.id}
        )
        if submit:
            self.engine.submit(run.id)
        return run

    def cancel(self, run_id: str) -> None:
        state.cancel_run(self.runtime.sessions, run_id)
        self.engine.cancel(run_id)

    def retry(self, run_id: str) -> int:
        n = state.retry_run(self.runtime.sessions, run_id)
        self.engine.submit(run_id)
        return n

    def _cohort_series(self, session: Session, cohort_id: str) -> list[str]:
        resolver = self.cohort_resolver or _default_cohort_resolver()
        return resolver(session, cohort_id)

    # -- auto-triggers -----------------------------------------------------------------

    def add_trigger(
        self, *, algorithm: str, series_filter: dict[str, Any], params: dict[str, Any]
    ) -> PipelineTrigger:
        algo = self.registry.get(algorithm)
        filled = algo.manifest.validate_params(params)
        validate_filter(series_filter)
        trig = PipelineTrigger(
            algorithm=algorithm,
            params=filled,
            series_filter=series_filter,
            enabled=True,
            created_at=datetime.now(UTC).replace(tzinfo=None),
        )
        with self.runtime.sessions() as s:
            s.add(trig)
            s.commit()
        return trig

    def _series_listener(self, series_uid: str) -> None:
        self.on_series_complete(series_uid)

    def on_series_complete(self, series_uid: str) -> list[str]:
        """Start a run for every enabled trigger whose filter the series matches.
        Series that pipelines produced themselves never trigger (no loops)."""
        started: list[str] = []
        with self.runtime.sessions() as s:
            series = s.get(Series, series_uid)
            if series is None:
                return started
            produced = s.scalar(
                select(PipelineResult.id).where(PipelineResult.series_uid == series_uid).limit(1)
            )
            triggers = list(s.scalars(select(PipelineTrigger).where(PipelineTrigger.enabled)))
            matching = [t for t in triggers if matches_filter(series, t.series_filter)]
        if produced is not None:
            matching = [t for t in matching if t.series_filter.get("include_derived")]
        for t in matching:
            try:
                run = self.create_run(
                    algorithm=t.algorithm,
                    params=t.params,
                    series_uids=[series_uid],
                    trigger=f"auto:{t.id}",
                )
                started.append(run.id)
            except Exception:
                log.exception("auto-trigger %s failed for series %s", t.id, series_uid)
        return started


def _default_cohort_resolver() -> CohortResolver:
    """Cohorts belong to the cohort service: a run on a cohort takes its member series."""
    from jip.cohorts.service import member_uids

    def resolve(session: Session, cohort_id: str) -> list[str]:
        try:
            key = int(cohort_id)
        except ValueError:
            raise NotFoundError(f"no cohort {cohort_id!r}") from None
        return member_uids(session, key)

    return resolve
