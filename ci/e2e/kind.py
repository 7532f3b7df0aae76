"""The steps of the cluster end-to-end run that are more than one command (mk/e2e.mk calls them).

python -m ci.e2e.kind versions                       # chart versions and repositories terraform pins
docker network inspect kind | python -m ci.e2e.kind gateway   # how pods reach the runner
python -m ci.e2e.kind argocd OUT --repo-url URL      # k8s/argocd for staging only, reading URL
python -m ci.e2e.kind manifests DIR --image REF --instances FILE   # volume.yaml, traffic.yaml
python -m ci.e2e.kind shift-params params.yaml       # a model that predicts unlike the released one
python -m ci.e2e.kind waive-gates IN OUT             # let that model through, so the canary must stop it
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = ROOT / "terraform/modules/cluster-bootstrap"
#: terraform variable -> the name the make recipe reads
PINS = {
    "argocd_chart_version": "ARGOCD_CHART_VERSION",
    "argo_rollouts_chart_version": "ARGO_ROLLOUTS_CHART_VERSION",
    "kube_prometheus_stack_chart_version": "KUBE_PROMETHEUS_STACK_CHART_VERSION",
    "argo_helm_repository": "ARGO_HELM_REPOSITORY",
    "prometheus_community_repository": "PROMETHEUS_COMMUNITY_REPOSITORY",
}
TRAFFIC_NAME = "e2e-traffic"


def versions(variables_tf: Path = BOOTSTRAP / "variables.tf") -> dict[str, str]:
    """The defaults of terraform/modules/cluster-bootstrap that pin the add-ons: one source for both installs."""
    import hcl2

    with variables_tf.open(encoding="utf-8") as handle:
        parsed = hcl2.load(handle)
    defaults = {name.strip('"'): body.get("default") for block in parsed["variable"] for name, body in block.items()}
    return {env: str(defaults[name]).strip('"') for name, env in PINS.items()}


def gateway(network: Sequence[dict[str, Any]]) -> str:
    """The IPv4 gateway of the `kind` docker network (`docker network inspect kind`): the runner, seen from pods."""
    for config in network[0]["IPAM"]["Config"]:
        address = str(config.get("Gateway", ""))
        if address and ":" not in address:
            return address
    raise SystemExit("kind network has no IPv4 gateway")


def argocd(out: Path, repo_url: str, revision: str, env: str = "staging") -> Path:
    """A copy of k8s/argocd that reads `repo_url` at `revision` and syncs only `env`."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(ROOT / "k8s/argocd", out)
    source = yaml.safe_load((out / "source.yaml").read_text(encoding="utf-8"))
    source["data"] = {"repoURL": repo_url, "targetRevision": revision}
    (out / "source.yaml").write_text(yaml.safe_dump(source, sort_keys=False), encoding="utf-8")
    kustomization = yaml.safe_load((out / "kustomization.yaml").read_text(encoding="utf-8"))
    kustomization["resources"] = [
        r for r in kustomization["resources"] if not (r.startswith("application-") and r != f"application-{env}.yaml")
    ]
    (out / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False), encoding="utf-8")
    return out


def manifests(image: str, instances: str, seconds: int, namespace: str = "lighthouse-staging") -> list[dict[str, Any]]:
    """The traffic Job (the model-server image running ci/e2e/traffic.py, restricted pod security) and a hostPath
    ReadWriteMany volume for the monitor component's claim, which kind's local-path storage cannot provide."""
    script = (Path(__file__).parent / "traffic.py").read_text(encoding="utf-8")
    labels = {"app.kubernetes.io/name": TRAFFIC_NAME, "app.kubernetes.io/part-of": "mlops-lighthouse"}
    restricted = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": TRAFFIC_NAME, "namespace": namespace, "labels": labels},
        "data": {"traffic.py": script, "instances.json": instances},
    }
    command = ["python", "/e2e/traffic.py", "send", f"http://model-server.{namespace}.svc", "/e2e/instances.json"]
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": TRAFFIC_NAME, "namespace": namespace, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": "traffic",
                            "image": image,
                            "command": [*command, "--seconds", str(seconds)],
                            "resources": {
                                "requests": {"cpu": "50m", "memory": "64Mi"},
                                "limits": {"cpu": "500m", "memory": "256Mi"},
                            },
                            "securityContext": restricted,
                            "volumeMounts": [{"name": "e2e", "mountPath": "/e2e", "readOnly": True}],
                        }
                    ],
                    "volumes": [{"name": "e2e", "configMap": {"name": TRAFFIC_NAME}}],
                },
            },
        },
    }
    volume = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": f"{namespace}-inference-log", "labels": labels},
        "spec": {
            "capacity": {"storage": "10Gi"},
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": "standard",
            "claimRef": {"namespace": namespace, "name": "model-inference-log"},
            "hostPath": {"path": f"/var/local/{namespace}-inference-log", "type": "DirectoryOrCreate"},
        },
    }
    return [config_map, job, volume]


def shift_params(params: Path) -> None:
    """A heavily regularised logistic regression: it ranks about as well but squeezes every score towards the base
    rate, so its predicted-score distribution (what the prediction-psi gate compares) is far from the released one."""
    data = yaml.safe_load(params.read_text(encoding="utf-8"))
    data["train"]["estimator"] = "logistic_regression"
    data["train"]["logistic_regression"] = {**data["train"].get("logistic_regression", {}), "C": 1e-6}
    params.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def waive_gates(source: Path, out: Path) -> None:
    """The gates report with `passed: true`, saying why: the end-to-end run proves the canary stops this model."""
    report = json.loads(source.read_text(encoding="utf-8"))
    report.update(passed=True, failed=[], waived="e2e-cluster: waived so the canary analysis, not the gates, stops it")
    out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ci.e2e.kind", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("versions")
    sub.add_parser("gateway")
    cd = sub.add_parser("argocd")
    cd.add_argument("out", type=Path)
    cd.add_argument("--repo-url", required=True)
    cd.add_argument("--revision", default="main")
    made = sub.add_parser("manifests")
    made.add_argument("out", type=Path)
    made.add_argument("--image", required=True)
    made.add_argument("--instances", type=Path, required=True)
    made.add_argument("--seconds", type=int, default=1500)
    shift = sub.add_parser("shift-params")
    shift.add_argument("params", type=Path)
    waive = sub.add_parser("waive-gates")
    waive.add_argument("source", type=Path)
    waive.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    if args.command == "versions":
        print("\n".join(f"{key}={value}" for key, value in versions().items()))
    elif args.command == "gateway":
        print(gateway(json.load(sys.stdin)))
    elif args.command == "argocd":
        print(argocd(args.out, args.repo_url, args.revision))
    elif args.command == "manifests":
        config_map, job, volume = manifests(args.image, args.instances.read_text(encoding="utf-8"), args.seconds)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "volume.yaml").write_text(yaml.safe_dump(volume, sort_keys=False), encoding="utf-8")
        (args.out / "traffic.yaml").write_text(yaml.safe_dump_all([config_map, job], sort_keys=False), encoding="utf-8")
    elif args.command == "shift-params":
        shift_params(args.params)
    else:
        waive_gates(args.source, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
