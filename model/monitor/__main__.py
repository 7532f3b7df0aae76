"""`python -m model.monitor`: see model/monitor/cli.py."""

import sys

from model.monitor.cli import main

sys.exit(main())
