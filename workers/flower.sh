#!/usr/bin/env bash
# Flower: a view of the run — its tasks with their run id, day and group, behind HTTP basic
# auth. The credentials come from the environment only (never the command line, where `ps`
# shows them): FLOWER_BASIC_AUTH=user:password. Flower reads every FLOWER_* variable itself;
# the defaults below make its task list show the run (docs/operations.md, "Flower: a view of the run"):
#   FLOWER_TASKS_COLUMNS   the task list's columns: kwargs carries run_id, day and group
#   FLOWER_PERSISTENT/_DB  keep the tasks across a restart, in FLOWER_DB (put it on a volume)
#   FLOWER_STATE_SAVE_INTERVAL  also save every minute, so a crash loses a minute at most
#   FLOWER_PURGE_OFFLINE_WORKERS  forget a worker offline this long (s): a redeploy's old
#                          hostnames do not pile up
#   FLOWER_ADDRESS         127.0.0.1: /metrics and /healthcheck answer without auth
#   FLOWER_BASIC_AUTH=ops:secret MNAAS_BROKER_URL=redis://host:6379/0 workers/flower.sh
set -euo pipefail
: "${FLOWER_BASIC_AUTH:?FLOWER_BASIC_AUTH=user:password must be set in the environment}"
export FLOWER_TASKS_COLUMNS="${FLOWER_TASKS_COLUMNS:-name,kwargs,state,received,started,runtime,worker,retries,exception}"
export FLOWER_PERSISTENT="${FLOWER_PERSISTENT:-True}"
export FLOWER_DB="${FLOWER_DB:-flower.db}"
export FLOWER_STATE_SAVE_INTERVAL="${FLOWER_STATE_SAVE_INTERVAL:-60000}"
export FLOWER_PURGE_OFFLINE_WORKERS="${FLOWER_PURGE_OFFLINE_WORKERS:-3600}"
export FLOWER_ADDRESS="${FLOWER_ADDRESS:-127.0.0.1}"
# The virtualenv beside the checkout (else the PATH): env.sh.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# Its database holds the tasks' arguments: readable by this user only.
umask 077
exec celery -A workers.app flower "$@"
