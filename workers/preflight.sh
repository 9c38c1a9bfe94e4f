# Sourced by worker.sh, control-worker.sh and beat.sh before they exec Celery (contract §16):
# exit 2 when MNAAS_CONFIG is unset or check-config refuses its file, so that systemd's
# RestartPreventExitStatus=2 stops a restart loop that no restart can fix; any other failure
# keeps its code, so a transient one is restarted.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
if [[ -z "${MNAAS_CONFIG:-}" ]]; then
    echo "$(basename "$0"): MNAAS_CONFIG must name the job properties file" >&2
    exit 2
fi
# Its report goes to stdout, not wanted here; a refusal and any warnings go to stderr.
status=0
mnaas-missing-files check-config --config "$MNAAS_CONFIG" >/dev/null || status=$?
if [[ $status -ne 0 ]]; then
    echo "$(basename "$0"): check-config refused $MNAAS_CONFIG (exit $status); not starting Celery" >&2
    exit "$status"
fi
