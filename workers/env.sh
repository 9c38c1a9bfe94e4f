# Sourced by every start script: the programs of the virtualenv beside this checkout
# (.venv/bin) when there is one, else those of the PATH (a virtualenv activated elsewhere, or
# a system install), so that the scripts work as written in a fresh shell.
checkout="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -x "$checkout/.venv/bin/celery" ]]; then
    export PATH="$checkout/.venv/bin:$PATH"
fi
# A source checkout works without installing: workers/ and celeryconfig.py sit one level up.
export PYTHONPATH="$checkout${PYTHONPATH:+:$PYTHONPATH}"
