"""Prometheus metrics for durable jobs, labelled by queue (`gaap:<component>:<lane>`) and task, never id."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ENQUEUED = Counter("gaap_jobs_enqueued_total", "Jobs handed to Redis (including de-duplicated no-ops)", ["queue"])
ENQUEUE_FAILED = Counter(
    "gaap_jobs_enqueue_failed_total",
    "Enqueues that failed because Redis was unreachable; the sweeper re-queues those rows later",
    ["queue"],
)
HANDLED = Counter(
    "gaap_jobs_handled_total",
    "Jobs run by a worker, by outcome (ok, error, timeout)",
    ["queue", "task", "outcome"],
)
DURATION = Histogram(
    "gaap_jobs_duration_seconds",
    "Time a handler took",
    ["queue", "task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
PERIODIC_RUNS = Counter(
    "gaap_jobs_periodic_runs_total",
    "Periodic jobs (sweeps, crons), by outcome: ran, skipped (another process ran this period), error",
    ["component", "name", "outcome"],
)
SWEPT = Counter("gaap_jobs_swept_total", "Overdue rows a sweep re-queued", ["component", "sweep"])
