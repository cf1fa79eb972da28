"""Generation jobs run inside the server: a worker in a background thread.

The same worker ``moviemind worker`` runs (:meth:`Jobs.work`): it claims
PENDING jobs from the database, new, retried and deferred alike, so it
cooperates with worker processes and with the other server processes of
``--workers N`` on the same home. Started with the server, stopped (running
jobs finish first) when it shuts down.
"""

from __future__ import annotations

import logging
import threading

from moviemind_lite.app.jobs import WorkerRun
from moviemind_lite.app.wiring import App
from moviemind_lite.core.errors import CatalogReadOnly

log = logging.getLogger("moviemind.http")


class InProcessJobs:
    """A worker with ``threads`` threads, run from a background thread of the server."""

    def __init__(self, app: App, threads: int) -> None:
        self.app = app
        self.threads = threads
        self.run: WorkerRun | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start claiming jobs (not while the catalog is read-only: nothing could be written)."""
        try:
            self.run = self.app.jobs.work(threads=self.threads)
        except CatalogReadOnly as refused:
            log.warning("Jobs not run in the server", extra={"fields": {"reason": str(refused)}})
            return
        self._thread = threading.Thread(target=self._drain, name="http-jobs", daemon=True)
        self._thread.start()
        log.info("Jobs run in the server", extra={"fields": {"threads": self.threads}})

    def _drain(self) -> None:
        assert self.run is not None
        for _ in self.run:
            pass  # each finished job was shown to the rollout guardrails by the iteration

    def stop(self) -> None:
        """Stop claiming; wait for running jobs to end."""
        if self.run is not None:
            self.run.worker.request_stop("server shutdown")
        if self._thread is not None:
            self._thread.join()
