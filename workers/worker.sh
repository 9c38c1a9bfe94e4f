#!/usr/bin/env bash
# Group worker: runs the warehouse query tasks (queue mnaas-groups). Start as many as the
# warehouse takes, on any host that has the job's configuration and reaches the broker.
#   MNAAS_CONFIG=/path/job.properties workers/worker.sh [--concurrency=8 ...]
# MNAAS_WORKER_QUEUES overrides the queues (empty: every queue of the product, as `celery
# worker` without -Q); MNAAS_WORKER_NAME the node name; extra arguments go to `celery worker`.
set -euo pipefail
# The virtualenv beside the checkout, MNAAS_CONFIG and check-config (exit 2): preflight.sh.
source "$(dirname "${BASH_SOURCE[0]}")/preflight.sh"
queues=()
if [[ -n "${MNAAS_WORKER_QUEUES-mnaas-groups}" ]]; then
    queues=(--queues="${MNAAS_WORKER_QUEUES-mnaas-groups}")
fi
# No gossip or mingle: nothing here uses them, and they slow down start-up on a busy broker.
exec celery -A workers.app worker \
    "${queues[@]}" \
    --hostname="${MNAAS_WORKER_NAME:-groups@%h}" \
    --loglevel="${MNAAS_LOG_LEVEL:-INFO}" \
    --without-gossip --without-mingle \
    "$@"
