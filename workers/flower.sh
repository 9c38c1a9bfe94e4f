#!/usr/bin/env bash
# Flower: the run's tasks, their arguments and workers, behind HTTP basic auth.
# The credentials come from the environment only (never the command line, where `ps` shows
# them): FLOWER_BASIC_AUTH=user:password. Flower reads every FLOWER_* variable itself, e.g.
# FLOWER_PORT (default 5555) and FLOWER_ADDRESS.
#   FLOWER_BASIC_AUTH=ops:secret MNAAS_BROKER_URL=redis://host:6379/0 workers/flower.sh
set -euo pipefail
: "${FLOWER_BASIC_AUTH:?FLOWER_BASIC_AUTH=user:password must be set in the environment}"
export PYTHONPATH="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)${PYTHONPATH:+:$PYTHONPATH}"
exec celery -A workers.app flower "$@"
