"""Helpers of the cluster end-to-end workflow (.github/workflows/e2e-cluster.yml, mk/e2e.mk), tested here even though
the workflow itself needs a kind cluster this machine does not have."""
