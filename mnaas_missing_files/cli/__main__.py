"""`python -m mnaas_missing_files.cli`: the command line, as the installed script runs it."""

import sys

from mnaas_missing_files.cli.main import main

sys.exit(main())
