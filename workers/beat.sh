#!/usr/bin/env bash
# Beat: enqueues the daily run at MNAAS_SCHEDULE in MNAAS_TIMEZONE. Run exactly one; a second
# one by mistake causes no second run of a day (start_run claims the day in Redis), but it is
# still a mistake.
#   MNAAS_CONFIG=/path/job.properties workers/beat.sh [celery beat options]
# MNAAS_BEAT_STATE_FILE: where beat keeps its last-run times (default ./celerybeat-schedule).
set -euo pipefail
# The virtualenv beside the checkout, MNAAS_CONFIG and check-config (exit 2): preflight.sh.
source "$(dirname "${BASH_SOURCE[0]}")/preflight.sh"
exec celery -A workers.app beat \
    --schedule="${MNAAS_BEAT_STATE_FILE:-celerybeat-schedule}" \
    --loglevel="${MNAAS_LOG_LEVEL:-INFO}" \
    "$@"
