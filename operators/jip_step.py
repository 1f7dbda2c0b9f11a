"""``JipStepOperator``: run one JIP pipeline step for a batch of jobs in one ``jip`` process.

One process per batch, not per job: starting ``jip`` (imports, database, registry) and an
Airflow task each cost seconds of CPU, which per job made the Airflow engine ~35x slower
than the local one. The step process works on the batch's jobs with a few threads and
writes each job's state to JIP's database; jobs failed by an earlier step are skipped.

Where things come from (first found wins):

- the ``jip`` binary: ``jip_bin`` argument, DAG run conf ``jip_bin``, Airflow Variable
  ``jip_bin``, worker env ``JIP_BIN``, else ``jip`` on ``PATH``;
- JIP settings: the worker's own environment, overlaid with the DAG run conf's ``jip_env``
  mapping (only ``JIP_*`` keys are taken, so a conf cannot change ``PATH`` and friends);
- threads per step: ``workers`` argument, else conf ``step_workers``, else JIP's
  ``JIP_PIPELINE_WORKERS``.

The step runs in a child of JIP's warm step server (``operators.step_client``: no
seconds of imports per step), else in a fresh ``jip`` process (conf ``"step_server":
false``, or no server could start). Its output is streamed into the task log; a non-zero
exit fails the task.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from operators.step_client import StepServerClient

STEPS = ("prepare", "run", "store")
KILL_GRACE_SECONDS = 10


def resolve_jip_bin(explicit: str | None, conf: Mapping[str, Any]) -> str:
    """Path of the ``jip`` executable to call; raises if none can be found."""
    candidate = explicit or conf.get("jip_bin")
    if not candidate:
        from airflow.sdk import Variable  # only at run time: DAG parsing stays cheap

        candidate = Variable.get("jip_bin", default=None)
    candidate = candidate or os.environ.get("JIP_BIN") or shutil.which("jip")
    if not candidate:
        raise AirflowException(
            "no jip executable: set DAG run conf 'jip_bin', Variable 'jip_bin' or env JIP_BIN"
        )
    return str(candidate)


def step_env(conf_env: Mapping[str, Any] | None) -> dict[str, str]:
    """The worker environment plus the run's ``JIP_*`` settings."""
    env = dict(os.environ)
    for key, value in (conf_env or {}).items():
        if not isinstance(key, str) or not key.startswith("JIP_"):
            raise AirflowException(f"jip_env may only set JIP_* variables, not {key!r}")
        env[key] = str(value)
    return env


def job_list(job_ids: Any) -> list[str]:
    """A batch as a list of job ids (one id alone is a batch of one)."""
    if isinstance(job_ids, str):
        return [job_ids]
    if not isinstance(job_ids, Sequence) or not all(isinstance(j, str) for j in job_ids):
        raise AirflowException(f"job_ids must be a list of job ids, not {job_ids!r}")
    return list(job_ids)


class JipStepOperator(BaseOperator):
    """Run ``jip pipeline step STEP --job J1 --job J2 ...``; fail the task on a non-zero
    exit (no job of the batch left to go on; after ``store``: any job not succeeded)."""

    template_fields: Sequence[str] = ("job_ids", "jip_bin")

    def __init__(
        self,
        *,
        step: str,
        job_ids: Any,
        jip_bin: str | None = None,
        workers: int | None = None,
        step_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        if step not in STEPS:
            raise ValueError(f"step must be one of {STEPS}, not {step!r}")
        super().__init__(**kwargs)
        self.step = step
        self.job_ids = job_ids
        self.jip_bin = jip_bin
        self.workers = workers
        self.step_timeout = step_timeout

    def command(self, conf: Mapping[str, Any]) -> list[str]:
        jobs = job_list(self.job_ids)
        cmd = [resolve_jip_bin(self.jip_bin, conf), "pipeline", "step", self.step]
        for job_id in jobs:
            cmd += ["--job", job_id]
        workers = self.workers or conf.get("step_workers")
        if workers:
            cmd += ["--workers", str(int(workers))]
        return cmd

    def execute(self, context: Any) -> list[str]:
        conf: Mapping[str, Any] = context["dag_run"].conf or {}
        cmd = self.command(conf)
        jobs = job_list(self.job_ids)
        env = step_env(conf.get("jip_env"))
        self.log.info("jip pipeline step %s for %d job(s)", self.step, len(jobs))
        timed_out = threading.Event()
        timer = None
        if self.step_timeout:
            timer = threading.Timer(self.step_timeout, lambda: (timed_out.set(), self.on_kill()))
            timer.start()
        try:
            code = None
            if conf.get("step_server", True):
                self._client = StepServerClient(
                    cmd[0], self.log.info,
                    idle_seconds=float(conf.get("step_server_idle_seconds") or 300),
                )
                workers = int(self.workers or conf.get("step_workers") or 0)
                code = self._client.run(self.step, jobs, workers, env)
                if code is None:
                    self._client = None
                    self.log.warning("no jip step server: running a fresh jip process")
            if code is None:
                code = self._run_process(cmd, env)
        except BaseException:  # task killed (DAG run failed, timeout): let jip clean up
            self.on_kill()
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if timed_out.is_set():
            raise AirflowException(
                f"jip step {self.step} for {len(jobs)} job(s) timed out after "
                f"{self.step_timeout} s"
            )
        if code != 0:
            raise AirflowException(
                f"jip step {self.step} for job(s) {', '.join(jobs)} exited with {code}"
            )
        return jobs

    def _run_process(self, cmd: list[str], env: dict[str, str]) -> int:
        """The step in a fresh ``jip`` process (no step server): its exit code."""
        try:
            self._proc = subprocess.Popen(
                cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
        except OSError as exc:
            raise AirflowException(f"cannot start {cmd[0]}: {exc}") from exc
        assert self._proc.stdout is not None
        for line in self._proc.stdout:  # live: a long batch shows its progress
            self.log.info("%s", line.rstrip("\n"))
        return self._proc.wait()

    def on_kill(self) -> None:
        """SIGTERM first, so the step can stop its algorithms; SIGKILL after a grace time."""
        client: StepServerClient | None = getattr(self, "_client", None)
        if client is not None and client.alive():
            client.kill(signal.SIGTERM)
            deadline = time.monotonic() + KILL_GRACE_SECONDS
            while client.alive() and time.monotonic() < deadline:
                time.sleep(0.2)
            if client.alive():
                client.kill(signal.SIGKILL)
        proc: subprocess.Popen[str] | None = getattr(self, "_proc", None)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
