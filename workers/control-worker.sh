#!/usr/bin/env bash
# Control worker: runs start_run, finalize_run and run_failed (queue mnaas-control), which
# write the status file, the reports and the run history. Start it on the host that owns
# them (the status file is shared with the platform's other jobs through that host's disk).
#   MNAAS_CONFIG=/path/job.properties workers/control-worker.sh [celery worker options]
set -euo pipefail
# The virtualenv beside the checkout, MNAAS_CONFIG and check-config (exit 2): preflight.sh.
source "$(dirname "${BASH_SOURCE[0]}")/preflight.sh"
# Two processes: one run's finalize never waits behind another's start; runs are serialized
# by the job lock anyway.
exec celery -A workers.app worker \
    --queues=mnaas-control \
    --concurrency="${MNAAS_CONTROL_CONCURRENCY:-2}" \
    --hostname="${MNAAS_WORKER_NAME:-control@%h}" \
    --loglevel="${MNAAS_LOG_LEVEL:-INFO}" \
    --without-gossip --without-mingle \
    "$@"
