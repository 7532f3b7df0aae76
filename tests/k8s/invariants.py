"""Invariants of a rendered overlay. Each check returns human-readable problems; an empty list means it holds.

They encode what kubectl, kubernetes-validate and checkov cannot see: that the objects agree with each other
(selectors, names, ports, analysis arguments), with the serving interface (docs/serving-interface.md) and with
the release record beside the overlay (docs/release-record.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.k8s.argo import referenced_args
from tests.k8s.manifests import Manifest, of_kind, only, ref

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# name[:tag][@digest]; the name may hold a registry port, hence the non-greedy name before the tag
IMAGE_REF = re.compile(r"^(?P<name>[^@]+?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>[^@]+))?$")


def pod_labels(rollout: Manifest) -> dict[str, str]:
    return dict(rollout["spec"]["template"]["metadata"].get("labels", {}))


def _matches(selector: Mapping[str, str] | None, labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in (selector or {}).items())


def selector_problems(manifests: list[Manifest]) -> list[str]:
    """Every selector that should pick the model-server pods picks them (and the Rollout's own selector)."""
    rollout = only(manifests, "Rollout")
    labels = pod_labels(rollout)
    problems = []
    selectors: list[tuple[str, Mapping[str, str] | None]] = [
        (f"{ref(rollout)} spec.selector", rollout["spec"]["selector"].get("matchLabels"))
    ]
    selectors += [(f"{ref(s)} spec.selector", s["spec"].get("selector")) for s in of_kind(manifests, "Service")]
    for kind, path in (
        ("PodDisruptionBudget", "selector"),
        ("NetworkPolicy", "podSelector"),
        ("PodMonitor", "selector"),
    ):
        selectors += [
            (f"{ref(m)} spec.{path}", m["spec"][path].get("matchLabels"))
            for m in of_kind(manifests, kind)
            if m["metadata"]["name"] == rollout["metadata"]["name"]  # other workloads' policies are their own
        ]
    for constraint in rollout["spec"]["template"]["spec"].get("topologySpreadConstraints", []):
        selectors.append((f"{ref(rollout)} topologySpreadConstraints", constraint["labelSelector"]["matchLabels"]))
    for where, selector in selectors:
        if not _matches(selector, labels):
            problems.append(f"{where} {selector} does not match the Rollout's pod labels {labels}")
    return problems


def _container_ports(rollout: Manifest) -> set[str]:
    return {p["name"] for c in rollout["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}


def reference_problems(manifests: list[Manifest]) -> list[str]:
    """Names that point at other objects resolve: Services, ServiceAccount, ports, HPA target, monitors."""
    rollout = only(manifests, "Rollout")
    canary = rollout["spec"]["strategy"]["canary"]
    services = {s["metadata"]["name"]: s for s in of_kind(manifests, "Service")}
    ports = _container_ports(rollout)
    problems = []
    for field in ("stableService", "canaryService"):
        if canary.get(field) not in services:
            problems.append(f"{ref(rollout)} {field} {canary.get(field)!r} is not a rendered Service")
    if canary.get("stableService") == canary.get("canaryService"):
        problems.append(f"{ref(rollout)} stableService and canaryService must differ")
    account = rollout["spec"]["template"]["spec"].get("serviceAccountName")
    if account not in {a["metadata"]["name"] for a in of_kind(manifests, "ServiceAccount")}:
        problems.append(f"{ref(rollout)} serviceAccountName {account!r} is not a rendered ServiceAccount")
    for service in services.values():
        for port in service["spec"]["ports"]:
            if isinstance(port["targetPort"], str) and port["targetPort"] not in ports:
                problems.append(f"{ref(service)} targetPort {port['targetPort']!r} is not a container port {ports}")
    for monitor in of_kind(manifests, "PodMonitor"):
        for endpoint in monitor["spec"]["podMetricsEndpoints"]:
            if endpoint["port"] not in ports:
                problems.append(f"{ref(monitor)} scrapes port {endpoint['port']!r}, not a container port {ports}")
    for container in rollout["spec"]["template"]["spec"]["containers"]:
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            port = container.get(probe, {}).get("httpGet", {}).get("port")
            if isinstance(port, str) and port not in ports:
                problems.append(f"{ref(rollout)} {container['name']} {probe} port {port!r} is not a container port")
    return problems


def replica_problems(manifests: list[Manifest]) -> list[str]:
    """The HPA alone owns the replica count; without a traffic router each weight is exact at minReplicas."""
    rollout = only(manifests, "Rollout")
    problems = []
    if "replicas" in rollout["spec"]:
        problems.append(f"{ref(rollout)} sets spec.replicas: the HorizontalPodAutoscaler owns the replica count")
    targeting = [
        hpa
        for hpa in of_kind(manifests, "HorizontalPodAutoscaler")
        if hpa["spec"]["scaleTargetRef"]
        == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": rollout["metadata"]["name"]}
    ]
    if len(targeting) != 1:
        problems.append(f"expected one HorizontalPodAutoscaler targeting {ref(rollout)}, found {len(targeting)}")
        return problems
    canary = rollout["spec"]["strategy"]["canary"]
    if "trafficRouting" in canary:
        return problems  # a traffic router splits requests, not pods: any weight is exact
    minimum = targeting[0]["spec"]["minReplicas"]
    for step in canary["steps"]:
        weight = step.get("setWeight")
        if weight is not None and 0 < weight < 100 and (weight * minimum) % 100:
            problems.append(
                f"setWeight {weight} is not a whole number of pods at minReplicas {minimum}: "
                f"replica-based weights would round it to {-(-weight * minimum // 100)}/{minimum} pods"
            )
    return problems


def analysis_problems(manifests: list[Manifest]) -> list[str]:
    """Analysis steps name rendered AnalysisTemplates and pass every argument they need, and only those."""
    rollout = only(manifests, "Rollout")
    templates = {t["metadata"]["name"]: t for t in of_kind(manifests, "AnalysisTemplate")}
    problems = []
    for name, template in templates.items():
        declared = {a["name"] for a in template["spec"].get("args", [])}
        used = referenced_args(json.dumps(template["spec"]["metrics"]))
        if used - declared:
            problems.append(f"AnalysisTemplate/{name} uses undeclared args {sorted(used - declared)}")
        if declared - used:
            problems.append(f"AnalysisTemplate/{name} declares unused args {sorted(declared - used)}")
    canary = rollout["spec"]["strategy"]["canary"]
    analyses = [(f"steps[{i}]", s["analysis"]) for i, s in enumerate(canary["steps"]) if "analysis" in s]
    if "analysis" in canary:
        analyses.append(("background analysis", canary["analysis"]))
    if not analyses:
        problems.append(f"{ref(rollout)} runs no analysis: a bad canary would be promoted")
    for where, analysis in analyses:
        supplied = {a["name"] for a in analysis.get("args", [])}
        accepted: set[str] = set()
        for entry in analysis["templates"]:
            found = templates.get(entry["templateName"])
            if found is None:
                problems.append(
                    f"{ref(rollout)} {where} names AnalysisTemplate {entry['templateName']!r}: not rendered"
                )
                continue
            args = found["spec"].get("args", [])
            accepted |= {a["name"] for a in args}
            missing = {a["name"] for a in args if "value" not in a and "valueFrom" not in a} - supplied
            if missing:
                problems.append(f"{ref(rollout)} {where} gives {entry['templateName']} no value for {sorted(missing)}")
        if supplied - accepted:
            problems.append(f"{ref(rollout)} {where} passes args no template takes: {sorted(supplied - accepted)}")
    return problems


def canary_labelling_problems(manifests: list[Manifest]) -> list[str]:
    """The `role` label the queries select on is the one Rollouts puts on pods and the PodMonitor copies."""
    rollout = only(manifests, "Rollout")
    canary = rollout["spec"]["strategy"]["canary"]
    problems = []
    roles = {
        "canary": canary.get("canaryMetadata", {}).get("labels", {}).get("role"),
        "stable": canary.get("stableMetadata", {}).get("labels", {}).get("role"),
    }
    for expected, actual in roles.items():
        if actual != expected:
            problems.append(f"{ref(rollout)} {expected}Metadata must label pods role={expected}, has {actual!r}")
    relabelled = {
        (tuple(r.get("sourceLabels", [])), r.get("targetLabel"))
        for m in of_kind(manifests, "PodMonitor")
        for e in m["spec"]["podMetricsEndpoints"]
        for r in e.get("relabelings", [])
    }
    for source, target in (
        (("__meta_kubernetes_pod_label_role",), "role"),
        (("__meta_kubernetes_pod_label_app_kubernetes_io_name",), "app"),
    ):
        if (source, target) not in relabelled:
            problems.append(f"no PodMonitor copies {source[0]} to the {target!r} label the analysis queries select")
    app_arg_path = "metadata.labels['app.kubernetes.io/name']"
    if rollout["metadata"].get("labels", {}).get("app.kubernetes.io/name") != pod_labels(rollout).get(
        "app.kubernetes.io/name"
    ):
        problems.append(f"{ref(rollout)} {app_arg_path} (the analysis `app` arg) differs from its pods' label")
    for template in of_kind(manifests, "AnalysisTemplate"):
        for metric in template["spec"]["metrics"]:
            query = metric["provider"]["prometheus"]["query"]
            if 'role="canary"' not in query:
                problems.append(f'{ref(template)} metric {metric["name"]} does not select role="canary"')
            if not re.search(
                r"len\(result\)\s*>\s*0", metric.get("successCondition", "")
            ) or "isNaN(result[0])" not in (metric.get("successCondition", "")):
                problems.append(f"{ref(template)} metric {metric['name']} successCondition lacks empty/NaN guards")
    return problems


#: What the pod template promises the server (docs/serving-interface.md), beyond what checkov checks.
SERVING_CONTRACT = {
    "port": 8080,
    "port_name": "http",
    "uid": 10001,
    "writable": "/tmp",
    "model_dir": "/app/models",
}


def serving_contract_problems(manifests: list[Manifest]) -> list[str]:
    rollout = only(manifests, "Rollout")
    pod = rollout["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    problems = []
    if {
        "name": SERVING_CONTRACT["port_name"],
        "containerPort": SERVING_CONTRACT["port"],
        "protocol": "TCP",
    } not in (container.get("ports", [])):
        problems.append(f"container must expose {SERVING_CONTRACT['port']} named {SERVING_CONTRACT['port_name']!r}")
    if pod["securityContext"].get("runAsUser") != SERVING_CONTRACT["uid"]:
        problems.append(f"pod must run as uid {SERVING_CONTRACT['uid']}")
    paths = {
        probe: container.get(probe, {}).get("httpGet", {}).get("path")
        for probe in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    if paths != {"startupProbe": "/readyz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}:
        problems.append(f"probes must use /readyz (startup, readiness) and /healthz (liveness), have {paths}")
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    empty_dirs = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
    if mounts.get(SERVING_CONTRACT["writable"]) not in empty_dirs:
        problems.append(f"{SERVING_CONTRACT['writable']} must be an emptyDir (the server's scratch space)")
    # Writable: /tmp, and the inference log's volume when a component mounts one: the pod's own emptyDir that the
    # shipper reads (shipping_problems), or the monitor component's claim (inference_log_problems).
    allowed = {SERVING_CONTRACT["writable"]}
    log_dir = _env(container).get(INFERENCE_LOG_ENV)
    if log_dir in mounts and (mounts[log_dir] in _claims(pod) or mounts[log_dir] in empty_dirs):
        allowed.add(log_dir)
    if set(mounts) - allowed:
        problems.append(f"unexpected writable mounts {sorted(set(mounts) - allowed)}")
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    if env.get("MODEL_DIR") != SERVING_CONTRACT["model_dir"] or env.get("PORT") != str(SERVING_CONTRACT["port"]):
        problems.append(f"env must set MODEL_DIR={SERVING_CONTRACT['model_dir']} and PORT={SERVING_CONTRACT['port']}")
    return problems


INFERENCE_LOG_ENV = "INFERENCE_LOG_DIR"


def _env(container: Manifest) -> dict[str, str | None]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def _claims(pod: Manifest) -> dict[str, str]:
    """Volume name -> the PersistentVolumeClaim it mounts."""
    return {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in pod.get("volumes", [])
        if "persistentVolumeClaim" in v
    }


def inference_log_problems(manifests: list[Manifest]) -> list[str]:
    """The servers write the inference log where the monitor reads it (docs/monitoring.md, "In the cluster").

    INFERENCE_LOG_DIR, when set, is on a writable mount (the root filesystem is read-only). When a CronJob reads
    `--logs` from a claim, the Rollout's INFERENCE_LOG_DIR is that same path, mounted writable from that same
    claim, and the claim is ReadWriteMany (every server pod writes, the monitor's pod reads)."""
    rollout = only(manifests, "Rollout")
    pod = rollout["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    log_dir = _env(container).get(INFERENCE_LOG_ENV)
    mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
    claims = {c["metadata"]["name"]: c for c in of_kind(manifests, "PersistentVolumeClaim")}
    problems = []
    writable = [path for path, m in mounts.items() if not m.get("readOnly")]
    if log_dir is not None and not any(log_dir == path or log_dir.startswith(f"{path}/") for path in writable):
        problems.append(f"{ref(rollout)} {INFERENCE_LOG_ENV}={log_dir} is on no writable mount {sorted(writable)}")
    for cronjob in of_kind(manifests, "CronJob"):
        job_pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        for job_container in job_pod["containers"]:
            args = job_container.get("args", [])
            read = next((a.split("=", 1)[1] for a in args if a.startswith("--logs=")), None)
            job_mounts = {m["mountPath"]: m["name"] for m in job_container.get("volumeMounts", [])}
            claim = _claims(job_pod).get(job_mounts.get(read, ""))
            if read is None or claim is None:
                continue  # not a reader of a claim (monitor_problems checks the CronJob's own mounts)
            where = f"{ref(cronjob)} reads --logs={read} from claim {claim!r}"
            if log_dir is None:
                problems.append(f"{where}, but {ref(rollout)} sets no {INFERENCE_LOG_ENV}: the servers log nothing")
            elif log_dir != read:
                problems.append(f"{where}, but {ref(rollout)} sets {INFERENCE_LOG_ENV}={log_dir}")
            mount = mounts.get(read)
            if mount is None or _claims(pod).get(mount["name"]) != claim:
                problems.append(f"{where}, but {ref(rollout)} does not mount that claim at {read}")
            elif mount.get("readOnly"):
                problems.append(f"{where}, but {ref(rollout)} mounts it read-only")
            modes = claims.get(claim, {}).get("spec", {}).get("accessModes", [])
            if "ReadWriteMany" not in modes:
                problems.append(f"{where}: its accessModes {modes} lack ReadWriteMany (every server pod writes)")
    return problems


def parse_image(image: str) -> dict[str, str | None]:
    match = IMAGE_REF.match(image)
    if not match:
        raise ValueError(f"not an image reference: {image!r}")
    return match.groupdict()


def load_release(overlay_dir: Path) -> dict[str, Any] | None:
    path = overlay_dir / "release.json"
    if not path.exists():
        return None
    try:
        release: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON: {error}") from error
    return release


def image_pin_problems(overlay_dir: Path, manifests: list[Manifest]) -> list[str]:
    """Where a release record sits beside the overlay, every container runs exactly its image, by digest."""
    release = load_release(overlay_dir)
    if release is None:
        return []
    where = overlay_dir / "release.json"
    image = release.get("image") or {}
    repository, digest = image.get("repository"), image.get("digest")
    if not isinstance(digest, str) or not DIGEST.match(digest):
        return [f"{where}: image.digest must be sha256:<64 hex>, is {digest!r}"]
    problems = []
    rollout = only(manifests, "Rollout")
    for container in rollout["spec"]["template"]["spec"]["containers"]:
        parts = parse_image(container["image"])
        if parts["digest"] != digest or parts["name"] != repository:
            problems.append(
                f"{ref(rollout)} container {container['name']} runs {container['image']!r}, "
                f"but {where} released {repository}@{digest}: "
                f"set images[].digest in {overlay_dir / 'kustomization.yaml'}"
            )
    return problems


#: The monitor's exit codes that fail its Job at once (model/monitor/report.py): a retry gives the same answer.
def _verdict_exit_codes() -> set[int]:
    from model.monitor import report

    return {report.EXIT_BAD_INPUT, report.EXIT_INSUFFICIENT, report.EXIT_WARN, report.EXIT_ALERT}


def monitor_problems(manifests: list[Manifest]) -> list[str]:
    """The drift monitor's CronJob (k8s/components/monitor) runs the server's image as its uid, with the account,
    volume and network policy it names, a command line the monitor accepts, and a Job that fails at once on the
    monitor's verdict exit codes. No CronJob (the component left out): nothing to check."""
    from model.monitor.cli import build_parser

    cronjobs = of_kind(manifests, "CronJob")
    if not cronjobs:
        return []
    rollout = only(manifests, "Rollout")
    server_images = {c["image"] for c in rollout["spec"]["template"]["spec"]["containers"]}
    accounts = {a["metadata"]["name"] for a in of_kind(manifests, "ServiceAccount")}
    claims = {c["metadata"]["name"] for c in of_kind(manifests, "PersistentVolumeClaim")}
    problems = []
    for cronjob in cronjobs:
        job = cronjob["spec"]["jobTemplate"]["spec"]
        pod = job["template"]["spec"]
        labels = job["template"]["metadata"].get("labels", {})
        where = ref(cronjob)
        for container in pod["containers"]:
            if container["image"] not in server_images:
                problems.append(f"{where} runs {container['image']!r}, not the Rollout's image {server_images}")
            try:
                args = build_parser().parse_args(container.get("args", []))
            except SystemExit:
                problems.append(f"{where} container {container['name']}: `python -m model.monitor` rejects its args")
                continue
            mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
            writable = {path for path, m in mounts.items() if not m.get("readOnly")}
            for output in (args.out, args.markdown):
                if not any(str(output).startswith(f"{path}/") for path in writable):
                    problems.append(f"{where} writes {output} outside its writable mounts {sorted(writable)}")
            if args.logs is not None and str(args.logs) not in mounts:
                problems.append(f"{where} reads --logs {args.logs}, which is not a mounted volume")
        if pod["securityContext"].get("runAsUser") != SERVING_CONTRACT["uid"]:
            problems.append(f"{where} pod must run as uid {SERVING_CONTRACT['uid']} (the image's user)")
        if pod.get("serviceAccountName") not in accounts:
            problems.append(f"{where} serviceAccountName {pod.get('serviceAccountName')!r} is not rendered")
        for volume in pod.get("volumes", []):
            claim = volume.get("persistentVolumeClaim", {}).get("claimName")
            if claim is not None and claim not in claims:
                problems.append(f"{where} mounts PersistentVolumeClaim {claim!r}, which is not rendered")
        if not any(
            _matches(p["spec"]["podSelector"].get("matchLabels"), labels) for p in of_kind(manifests, "NetworkPolicy")
        ):
            problems.append(f"{where} pods {labels} are selected by no NetworkPolicy")
        failing = {
            code
            for rule in job.get("podFailurePolicy", {}).get("rules", [])
            if rule["action"] == "FailJob"
            for code in rule.get("onExitCodes", {}).get("values", [])
        }
        if failing != _verdict_exit_codes():
            problems.append(
                f"{where} podFailurePolicy fails the Job on exit codes {sorted(failing)}, "
                f"the monitor's verdicts are {sorted(_verdict_exit_codes())}"
            )
    return problems


SHIPPER = "log-shipper"
_ENV_REFERENCE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


def shipping_problems(manifests: list[Manifest]) -> list[str]:
    """The log shipper (k8s/components/inference-log-shipping) reads exactly the files the server finishes and
    ships them line for line as `*.jsonl` objects the monitor reads, from the pod's own volume (no shared claim).

    No shipper (the component left out): nothing to check. Checked on the rendered Rollout and the rendered
    ConfigMap that holds Vector's configuration; Vector itself does not run here."""
    from model.serve.inference_log import FILE_PREFIX, FINISHED_SUFFIX

    rollout = only(manifests, "Rollout")
    pod = rollout["spec"]["template"]["spec"]
    shippers = [c for c in pod.get("initContainers", []) if c["name"] == SHIPPER]
    if not shippers:
        return []
    (shipper,) = shippers
    (server,) = pod["containers"]
    where = f"{ref(rollout)} {SHIPPER}"
    problems = []
    if shipper.get("restartPolicy") != "Always":
        problems.append(f"{where} must be a native sidecar (restartPolicy: Always) so it outlives the server")
    log_dir = _env(server).get(INFERENCE_LOG_ENV)
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    server_mounts = {m["mountPath"]: m for m in server.get("volumeMounts", [])}
    shipper_mounts = {m["mountPath"]: m for m in shipper.get("volumeMounts", [])}
    log_mount = server_mounts.get(log_dir or "")
    if log_mount is None:
        return [*problems, f"{where}: the server's {INFERENCE_LOG_ENV}={log_dir} is not a mounted volume"]
    log_volume = volumes[log_mount["name"]]
    if log_volume.get("emptyDir") is None or "persistentVolumeClaim" in log_volume:
        problems.append(f"{where}: the log volume {log_mount['name']!r} must be the pod's own emptyDir, no claim")
    read = shipper_mounts.get(str(log_dir))
    if read is None or read["name"] != log_mount["name"]:
        problems.append(f"{where} does not mount the server's log volume at {log_dir}")
    elif not read.get("readOnly"):
        problems.append(f"{where} mounts the log volume writable; it only reads")
    configs = [volumes[m["name"]] for m in shipper_mounts.values() if "configMap" in volumes[m["name"]]]
    config_volume = configs[0] if configs else None
    if config_volume is None:
        return [*problems, f"{where} mounts no ConfigMap with its configuration"]
    maps = {m["metadata"]["name"]: m for m in of_kind(manifests, "ConfigMap")}
    name = config_volume["configMap"]["name"]
    config_map = maps.get(name)
    if config_map is None or "vector.yaml" not in config_map.get("data", {}):
        return [*problems, f"{where}: ConfigMap {name!r} with vector.yaml is not rendered"]
    text = config_map["data"]["vector.yaml"]
    config = yaml.safe_load(text)
    env = {e["name"]: e for e in shipper.get("env", [])}
    for name in sorted(set(_ENV_REFERENCE.findall(text)) - set(env)):
        problems.append(f"{where}: vector.yaml uses ${{{name}}}, which its environment does not set")
    for name, entry in env.items():
        key_ref = entry.get("valueFrom", {}).get("configMapKeyRef")
        if key_ref and key_ref["key"] not in maps.get(key_ref["name"], {}).get("data", {}):
            problems.append(f"{where}: env {name} reads {key_ref['name']}/{key_ref['key']}, which is not rendered")
    data_dir = str(config.get("data_dir", ""))
    writable = [path for path, m in shipper_mounts.items() if not m.get("readOnly")]
    if not any(data_dir == path or data_dir.startswith(f"{path}/") for path in writable):
        problems.append(f"{where}: data_dir {data_dir!r} is on no writable mount {sorted(writable)}")
    files = [s for s in config.get("sources", {}).values() if s.get("type") == "file"]
    wanted = f"{log_dir}/{FILE_PREFIX}*{FINISHED_SUFFIX}"
    if [s.get("include") for s in files] != [[wanted]]:
        problems.append(f"{where}: one file source must read exactly {wanted} (finished files only)")
    sinks = list(config.get("sinks", {}).values())
    expected = {
        "type": "aws_s3",
        "filename_extension": FINISHED_SUFFIX.lstrip("."),
        "compression": "none",
        "encoding": {"codec": "text"},
        "framing": {"method": "newline_delimited"},
        "acknowledgements": {"enabled": True},
    }
    for sink in sinks:
        wrong = {k: sink.get(k) for k, v in expected.items() if sink.get(k) != v}
        if wrong:
            problems.append(f"{where}: sink must write {expected}, differs in {wrong}")
        if not str(sink.get("key_prefix", "")).rsplit("/", 1)[-1].startswith(FILE_PREFIX):
            problems.append(f"{where}: object names must start with {FILE_PREFIX!r} like the server's files")
        if set(sink.get("inputs", [])) != set(config.get("sources", {})):
            problems.append(f"{where}: the sink must ship every source")
    if len(sinks) != 1:
        problems.append(f"{where}: expected one sink, found {len(sinks)}")
    return problems
