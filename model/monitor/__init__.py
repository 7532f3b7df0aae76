"""Drift monitoring: compare a window of logged inferences, or any batch file, with the training reference.

`python -m model.monitor` (model/monitor/cli.py) writes reports/drift.json and reports/drift.md; its exit code
says ok (0), warn (10), alert (20), not enough data (3) or bad input (2). See docs/monitoring.md.
"""
