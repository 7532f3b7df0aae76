"""The helpers of the cluster end-to-end run (ci/e2e, mk/e2e.mk), run for real here: the git server with a real
clone and push, the traffic sender against a real model server, the manifests it applies rendered and validated
strictly, the pins read from the terraform that bootstraps real clusters. The run itself needs kind: not here."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from ci.e2e import gitserver, kind, traffic
from tests.conftest import require_binary
from tests.k8s.manifests import REPO_ROOT, of_kind, render
from tests.k8s.test_render import core_errors, validation_errors

if TYPE_CHECKING:
    from tests.model.serve.training import TrainedModel

MAIN_TF = REPO_ROOT / "terraform/modules/cluster-bootstrap/main.tf"


def test_versions_are_the_ones_terraform_installs() -> None:
    pins = kind.versions()
    main_tf = MAIN_TF.read_text()
    for variable, name in kind.PINS.items():
        assert f"var.{variable}" in main_tf, f"cluster-bootstrap no longer installs with var.{variable}"
        if name.endswith("_VERSION"):
            assert re.fullmatch(r"\d+\.\d+\.\d+", pins[name]), pins[name]
        else:
            assert pins[name].startswith("https://")
    mk = (REPO_ROOT / "mk/e2e.mk").read_text() + (REPO_ROOT / ".github/workflows/e2e-cluster.yml").read_text()
    for name in kind.PINS.values():
        if name.endswith("_VERSION"):
            assert pins[name] not in mk, f"{pins[name]} is written into the e2e run; read it from terraform"


def test_the_gateway_is_the_ipv4_one() -> None:
    network = [
        {
            "IPAM": {
                "Config": [
                    {"Subnet": "fc00:f853:ccd:e793::/64", "Gateway": "fc00:f853:ccd:e793::1"},
                    {"Gateway": "172.18.0.1"},
                ]
            }
        }
    ]
    assert kind.gateway(network) == "172.18.0.1"
    with pytest.raises(SystemExit):
        kind.gateway([{"IPAM": {"Config": [{"Gateway": "fc00::1"}]}}])


def test_the_argocd_bootstrap_reads_the_served_copy_and_syncs_staging_only(tmp_path: Path) -> None:
    kubectl = require_binary("kubectl")
    out = kind.argocd(tmp_path / "argocd", "http://172.18.0.1:8418/lighthouse.git", "main")
    manifests = render(out, kubectl)
    errors = [e for m in manifests for e in validation_errors(m)]
    # The one exception, and only here: the repository's schema wants https or ssh; the runner serves plain http.
    assert errors == [
        "Application/lighthouse-staging spec.source.repoURL: 'http://172.18.0.1:8418/lighthouse.git' does not match "
        "'^(https://|ssh://|git@)'"
    ]
    (application,) = of_kind(manifests, "Application")
    assert application["metadata"]["name"] == "lighthouse-staging"
    assert application["spec"]["source"]["repoURL"] == "http://172.18.0.1:8418/lighthouse.git"
    assert application["spec"]["source"]["targetRevision"] == "main"
    (project,) = of_kind(manifests, "AppProject")
    assert project["spec"]["sourceRepos"] == ["http://172.18.0.1:8418/lighthouse.git"]


def test_the_cluster_manifests_validate_and_fit_what_they_serve(tmp_path: Path) -> None:
    config_map, job, volume = kind.manifests("kind-registry:5000/mlops-lighthouse@sha256:" + "a" * 64, "[]", 600)
    for manifest in (config_map, job, volume):
        assert core_errors(manifest) == []
    assert config_map["data"]["traffic.py"] == (REPO_ROOT / "ci/e2e/traffic.py").read_text()
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"][:3] == ["python", "/e2e/traffic.py", "send"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True  # the namespace enforces `restricted`
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    claim = yaml.safe_load((REPO_ROOT / "k8s/components/monitor/persistentvolumeclaim.yaml").read_text())
    assert volume["spec"]["claimRef"]["name"] == claim["metadata"]["name"]
    assert volume["spec"]["accessModes"] == claim["spec"]["accessModes"]
    service = next(d for d in yaml.safe_load_all((REPO_ROOT / "k8s/base/services.yaml").read_text()) if d)
    assert container["command"][3] == f"http://{service['metadata']['name']}.lighthouse-staging.svc"


def test_shifted_params_still_validate(tmp_path: Path) -> None:
    from model.core.params import load_params

    params = tmp_path / "params.yaml"
    shutil.copy(REPO_ROOT / "params.yaml", params)
    kind.shift_params(params)
    loaded = load_params(params)
    assert loaded.train.estimator == "logistic_regression"
    assert pytest.approx(1e-6) == loaded.train.logistic_regression.C


def test_waived_gates_say_why(tmp_path: Path) -> None:
    source = tmp_path / "gates.json"
    source.write_text(json.dumps({"passed": False, "failed": ["brier_max"], "gates": []}))
    kind.waive_gates(source, tmp_path / "waived.json")
    waived = json.loads((tmp_path / "waived.json").read_text())
    assert (waived["passed"], waived["failed"]) == (True, [])
    assert "canary" in waived["waived"]


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "served"
    bare = root / "lighthouse.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(bare)], check=True)
    subprocess.run(["git", "-C", str(bare), "config", "http.receivepack", "true"], check=True)
    server = gitserver.serve(root)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/lighthouse.git", bare
    finally:
        server.shutdown()
        server.server_close()


def _git(cwd: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "e2e",
        "GIT_AUTHOR_EMAIL": "e2e@localhost",
        "GIT_COMMITTER_NAME": "e2e",
        "GIT_COMMITTER_EMAIL": "e2e@localhost",
        "PATH": "/usr/bin:/bin",
        "HOME": str(cwd),
    }
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_the_git_server_clones_and_takes_pushes(git_server: tuple[str, Path], tmp_path: Path) -> None:
    """What Argo CD (fetch) and ci.promote (push) do to it, over smart HTTP."""
    url, bare = git_server
    first = tmp_path / "first"
    _git(tmp_path, "clone", "--quiet", url, str(first))
    (first / "release.json").write_text("{}\n")
    _git(first, "add", "release.json")
    _git(first, "commit", "--quiet", "-m", "promote")
    _git(first, "push", "--quiet", "origin", "HEAD:main")
    pushed = _git(first, "rev-parse", "HEAD")
    assert _git(bare, "rev-parse", "main") == pushed
    assert _git(tmp_path, "ls-remote", url, "refs/heads/main").split()[0] == pushed
    second = tmp_path / "second"
    _git(tmp_path, "clone", "--quiet", url, str(second))
    assert (second / "release.json").read_text() == "{}\n"


def test_instances_are_the_held_out_features(tmp_path: Path, trained: TrainedModel) -> None:
    (tmp_path / "data/split").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "data/contract.yaml", tmp_path / "data/contract.yaml")
    trained.test.to_parquet(tmp_path / "data/split/test.parquet")
    rows = traffic.instances(tmp_path)
    assert len(rows) == len(trained.test)
    assert set(rows[0]) == {c.name for c in trained.contract.feature_columns}


def test_traffic_reaches_a_real_server(tmp_path: Path, trained: TrainedModel) -> None:
    from tests.model.serve.helpers import start_server

    server = start_server(trained.model_dir, tmp_path / "server.log")
    try:
        rows = json.loads(json.dumps(trained.instances()[:40], default=str))
        counts = traffic.send(server.url, rows, seconds=2.0, batch=10, pause=0.0)
        metrics = server.client.get("/metrics").text
    finally:
        server.stop()
    assert counts["errors"] == 0
    assert counts["requests"] > 0
    assert counts["predictions"] == 10 * counts["requests"]
    binned = sum(float(v) for v in re.findall(r"^lighthouse_prediction_score_bin_total\{[^}]*\} (\S+)$", metrics, re.M))
    assert binned == counts["predictions"]  # what the prediction-psi analysis will count
