"""Durable jobs: rows first, ids on arq queues, leased claims, and a sweeper that makes Redis loss harmless.

Read docs/jobs.md for the design. In short: commit the row, then `JobQueue.enqueue` its id (it never raises);
the handler `claim`s the row (dropping the job if the claim matches nothing) and changes it only through
conditional updates (`transition`, `retry_at`); a `Sweep` re-queues rows whose lease or due time is long
past.
"""

from gaap.jobs.health import ProbeServer, worker_readiness, worker_ready
from gaap.jobs.leases import LeasedWork, claim, retry_at, transition
from gaap.jobs.periodic import Cron, Sweep, every_to_cron, sweep_once
from gaap.jobs.queue import Enqueue, JobQueue, job_id, queue_name
from gaap.jobs.worker import Handler, WorkerSpec, run_worker, serve

__all__ = [
    "Cron",
    "Enqueue",
    "Handler",
    "JobQueue",
    "LeasedWork",
    "ProbeServer",
    "Sweep",
    "WorkerSpec",
    "claim",
    "every_to_cron",
    "job_id",
    "queue_name",
    "retry_at",
    "run_worker",
    "serve",
    "sweep_once",
    "transition",
    "worker_readiness",
    "worker_ready",
]
