"""`python -m controlplane`: see controlplane/cli.py."""

import sys

from controlplane.cli import main

sys.exit(main())
