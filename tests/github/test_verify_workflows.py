"""The verification workflows' wiring, read from the YAML: verify.yml is called once after each promotion, moves
aliases only through `make verify` (ci.verify), and no workflow moves an alias any other way (finding 9)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.github.test_workflow_graph import ALL, ROOT, jobs, permissions, runs, steps, triggers

VERIFY_PERMISSIONS = {"contents": "read", "statuses": "write", "id-token": "write"}


@pytest.mark.parametrize(
    ("name", "after", "environment"), [("main.yml", "staging", "staging"), ("promote.yml", "production", "production")]
)
def test_each_promotion_is_followed_by_one_verification(name: str, after: str, environment: str) -> None:
    callers = [job for job in jobs(ALL[name]).values() if job.get("uses") == "./.github/workflows/verify.yml"]
    (caller,) = callers
    assert caller["needs"] == after
    assert caller["with"] == {"environment": environment}
    assert "secrets" not in caller  # they live in the `verification` environment, not with the caller
    assert permissions(caller) == VERIFY_PERMISSIONS
    assert list(jobs(ALL[name]))[-1] == next(k for k, v in jobs(ALL[name]).items() if v is caller)  # appended last


def test_verify_is_reusable_and_dispatchable_with_least_privilege() -> None:
    workflow = ALL["verify.yml"]
    assert triggers(workflow) == {"workflow_call", "workflow_dispatch"}
    assert workflow["permissions"] == {}
    (job,) = jobs(workflow).values()
    assert permissions(job) == VERIFY_PERMISSIONS
    assert job["environment"] == {"name": "verification", "deployment": False}
    assert job["timeout-minutes"] * 60 > 5400  # longer than ci.verify's longest default wait
    assert "make verify" in runs(job)
    assert "make -s verify-kubeconfig" in runs(job)
    verify_step = next(s for s in steps(job) if s.get("run") == "make verify")
    assert verify_step["env"]["GITHUB_TOKEN"] == "${{ github.token }}"


def test_consistency_runs_on_a_schedule_and_keeps_one_issue() -> None:
    workflow = ALL["consistency.yml"]
    assert triggers(workflow) == {"schedule", "workflow_dispatch"}
    (job,) = jobs(workflow).values()
    assert permissions(job) == {"contents": "read", "issues": "write", "id-token": "write"}
    step = next(s for s in steps(job) if s.get("run") == "make consistency")
    assert step["env"]["CONSISTENCY_ISSUE"] == "1"


def test_only_ci_verify_moves_an_alias() -> None:
    """No workflow step and no promotion code calls the registry's alias setters except ci.verify."""
    for name, workflow in ALL.items():
        assert "set-champion" not in "\n".join(runs(job) for job in jobs(workflow).values()), name
    callers = [
        path.relative_to(ROOT).as_posix()
        for path in sorted((ROOT / "ci").glob("*.py"))
        if re.search(r"\b(set_alias|set_champion|set_registered_model_alias)\(", path.read_text())
        and path.name != "registry.py"
    ]
    assert callers == ["ci/verify.py"]


def _make(target: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", "--no-print-directory", "-C", str(ROOT), target],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env},
        check=False,
        timeout=60,
    )


def test_the_kubeconfig_step_writes_the_secret_privately(tmp_path: Path) -> None:
    out = tmp_path / "kubeconfig"
    content = "apiVersion: v1\nkind: Config\nclusters: []\n"
    proc = _make("verify-kubeconfig", tmp_path, KUBECONFIG_OUT=str(out), KUBECONFIG_CONTENT=content)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "configured=true\n"  # the step output, and nothing of the secret
    assert out.read_text().strip() == content.strip()
    assert out.stat().st_mode & 0o077 == 0


def test_without_credentials_the_kubeconfig_step_says_not_configured(tmp_path: Path) -> None:
    out = tmp_path / "kubeconfig"
    proc = _make("verify-kubeconfig", tmp_path, KUBECONFIG_OUT=str(out))
    assert (proc.returncode, proc.stdout) == (0, "configured=false\n")
    assert not out.exists()


def test_the_cluster_run_proves_a_pass_then_an_abort() -> None:
    """e2e-cluster.yml: manual and nightly, pinned kind, and the two verdicts in order (it needs kind: not run here)."""
    workflow = ALL["e2e-cluster.yml"]
    assert triggers(workflow) == {"workflow_dispatch", "schedule"}
    (job,) = jobs(workflow).values()
    assert permissions(job) == {"contents": "read"}
    kind_step = next(s for s in steps(job) if str(s.get("uses", "")).startswith("helm/kind-action@"))
    assert re.fullmatch(r"v\d+\.\d+\.\d+", kind_step["with"]["version"])
    assert re.fullmatch(r"kindest/node:v[\d.]+@sha256:[0-9a-f]{64}", kind_step["with"]["node_image"])
    assert kind_step["with"]["registry"] is True
    script = runs(job)
    order = [
        "make e2e-addons",
        "make e2e-image E2E_TAG=baseline",
        "make e2e-shifted-model",
        "make e2e-git",
        "make e2e-promote E2E_TAG=baseline",
        "make e2e-bootstrap",
        "make e2e-promote E2E_TAG=good",
        "make e2e-verify E2E_EXPECT=verified",
        "make e2e-promote E2E_TAG=shifted",
        "make e2e-verify E2E_EXPECT=aborted",
    ]
    positions = [script.index(step) for step in order]
    assert positions == sorted(positions)
    assert "secrets." not in (ROOT / ".github/workflows/e2e-cluster.yml").read_text()
