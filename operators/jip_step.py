"""``JipStepOperator``: run one JIP pipeline step for one job in a fresh ``jip`` process.

Where things come from (first found wins):

- the ``jip`` binary: ``jip_bin`` argument, DAG run conf ``jip_bin``, Airflow Variable
  ``jip_bin``, worker env ``JIP_BIN``, else ``jip`` on ``PATH``;
- JIP settings: the worker's own environment, overlaid with the DAG run conf's ``jip_env``
  mapping (only ``JIP_*`` keys are taken, so a conf cannot change ``PATH`` and friends).

The step's stdout/stderr become the task log; a non-zero exit fails the task.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

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


class JipStepOperator(BaseOperator):
    """Run ``jip pipeline step STEP --job JOB_ID``; fail the task if it exits non-zero."""

    template_fields: Sequence[str] = ("job_id", "jip_bin")

    def __init__(
        self,
        *,
        step: str,
        job_id: str,
        jip_bin: str | None = None,
        step_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        if step not in STEPS:
            raise ValueError(f"step must be one of {STEPS}, not {step!r}")
        super().__init__(**kwargs)
        self.step = step
        self.job_id = job_id
        self.jip_bin = jip_bin
        self.step_timeout = step_timeout

    def execute(self, context: Any) -> str:
        conf: Mapping[str, Any] = context["dag_run"].conf or {}
        job_id = str(self.job_id)
        cmd = [resolve_jip_bin(self.jip_bin, conf), "pipeline", "step", self.step, "--job", job_id]
        self.log.info("running %s", " ".join(cmd))
        try:
            self._proc = subprocess.Popen(
                cmd,
                env=step_env(conf.get("jip_env")),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        except OSError as exc:
            raise AirflowException(f"cannot start {cmd[0]}: {exc}") from exc
        try:
            output, _ = self._proc.communicate(timeout=self.step_timeout)
        except subprocess.TimeoutExpired as exc:
            self.on_kill()
            raise AirflowException(
                f"jip step {self.step} for job {job_id} timed out after {exc.timeout} s"
            ) from exc
        except BaseException:  # task killed (DAG run failed, timeout): let jip clean up
            self.on_kill()
            raise
        for line in output.splitlines():
            self.log.info("%s", line)
        if self._proc.returncode != 0:
            raise AirflowException(
                f"jip step {self.step} for job {job_id} exited with {self._proc.returncode}"
            )
        return job_id

    def on_kill(self) -> None:
        """SIGTERM first, so the step can stop its algorithm; SIGKILL after a grace time."""
        proc: subprocess.Popen[str] | None = getattr(self, "_proc", None)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
