"""`python -m softswitch` is the `softswitch` command."""

import sys

from softswitch.cli import main

sys.exit(main())
