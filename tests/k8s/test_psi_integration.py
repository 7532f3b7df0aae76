"""The canary's prediction-PSI gate, end to end: a real Prometheus scrapes two real model servers labelled canary
and stable (the labels the PodMonitor gives pods), and the exact query text of the rendered AnalysisTemplate,
with the arguments Argo Rollouts would pass, tells a shifted canary from the stable version while two servers
fed the same distribution score near zero. Only the template's `window` argument is shortened, as an overlay
could.

Timeline: both servers start at zero; case A sends each side its own resample of the held-out split; case B,
in a later window, sends the canary the held-out rows the model scores above the median (a population whose
features push scores up) and the stable side another plain resample.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from model.serve.metrics import score_bins
from tests.conftest import require_binary
from tests.k8s.argo import analysis_queries, measurement_phase, resolve_args, run_args
from tests.k8s.manifests import ENVIRONMENTS, Manifest, only
from tests.model.serve.helpers import ServerProcess, start_server
from tests.model.serve.training import TrainedModel
from tests.prometheus import PrometheusServer, ScrapeTarget

TEMPLATE = "prediction-psi"
ROLES = ("canary", "stable")
#: Predictions per side and case: above every environment's `min-predictions` (production: 1000).
PREDICTIONS = 2000
BATCH = 50
SCRAPE_SECONDS = 1.0
#: The PSI floor the template applies to each share (its comment and docs/kubernetes.md).
FLOOR = 1e-4


@dataclass(frozen=True)
class Gate:
    """One environment's prediction-psi measurement: the query and conditions with its AnalysisRun's args."""

    environment: str
    args: dict[str, str]
    metric: dict[str, Any]

    def query(self, window: str) -> str:
        template = {"spec": {"metrics": [self.metric]}}
        return analysis_queries([template], {**self.args, "window": window})[TEMPLATE]

    def phase(self, result: list[float]) -> str:
        conditions = {k: resolve_args(v, self.args) for k, v in self.metric.items() if k.endswith("Condition")}
        return measurement_phase(conditions, result)

    @property
    def max_psi(self) -> float:
        return float(self.args["max-psi"])


def gate(manifests: list[Manifest], environment: str) -> Gate:
    """The args of the canary step that runs prediction-psi, resolved as the controller does."""
    rollout = only(manifests, "Rollout")
    template = only(manifests, "AnalysisTemplate", TEMPLATE)
    step = next(
        s["analysis"]
        for s in rollout["spec"]["strategy"]["canary"]["steps"]
        if any(t["templateName"] == TEMPLATE for t in s.get("analysis", {}).get("templates", []))
    )
    (metric,) = template["spec"]["metrics"]
    return Gate(environment, run_args(rollout, step, [template]), metric)


def python_psi(canary: list[float], stable: list[float]) -> float:
    """The PSI the template computes, from the probabilities the servers answered."""
    p = np.maximum(score_bins(np.array(canary)) / len(canary), FLOOR)
    q = np.maximum(score_bins(np.array(stable)) / len(stable), FLOOR)
    return float(np.sum((p - q) * np.log(p / q)))


@pytest.fixture(scope="module")
def servers(trained: TrainedModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServerProcess]]:
    directory = tmp_path_factory.mktemp("servers")
    started = {role: start_server(trained.model_dir, directory / f"{role}.log", wait=False) for role in ROLES}
    try:
        for server in started.values():
            server.wait_ready()
        yield started
    finally:
        for server in started.values():
            server.stop()


def predict(server: ServerProcess, instances: list[dict[str, Any]]) -> list[float]:
    probabilities: list[float] = []
    for start in range(0, len(instances), BATCH):
        response = server.client.post("/predict", json={"instances": instances[start : start + BATCH]})
        assert response.status_code == 200, response.text
        probabilities += [p["probability"] for p in response.json()["predictions"]]
    return probabilities


def wait_until_scraped(prometheus: PrometheusServer, targets: list[ScrapeTarget], totals: dict[str, int]) -> float:
    """Until every target's latest scrape shows `totals[role]` predictions; returns that moment (epoch seconds)."""
    deadline = time.monotonic() + 30
    while True:
        seen = {
            (t.labels["role"], t.labels["namespace"]): sum(
                s.value for s in prometheus.query(f"lighthouse_prediction_score_bin_total{t.selector()}")
            )
            for t in targets
        }
        if all(value == totals[role] for (role, _), value in seen.items()):
            return time.time()
        assert time.monotonic() < deadline, f"Prometheus saw {seen}, expected {totals}"
        time.sleep(0.2)


def evaluate(prometheus: PrometheusServer, gates: list[Gate], start: float, end: float) -> dict[str, list[float]]:
    """Each gate's query over the whole seconds from `start` on that cover `end`: the window starts exactly at
    `start` (so it holds the scrapes from before the traffic) and ends once nothing changes any more."""
    seconds = math.ceil(end - start)
    at = start + seconds
    time.sleep(max(0.0, at - time.time()))  # never ask about the future
    return {g.environment: [s.value for s in prometheus.query(g.query(f"{seconds}s"), at=at)] for g in gates}


def test_psi_separates_a_shifted_canary_and_not_two_equal_servers(
    rendered: dict[str, list[Manifest]],
    trained: TrainedModel,
    servers: dict[str, ServerProcess],
    tmp_path: Path,
) -> None:
    gates = [gate(rendered[env], env) for env in ENVIRONMENTS]
    # Each environment's series, as the PodMonitor labels them: its namespace, the app, the pod's role.
    targets = [
        ScrapeTarget(
            f"127.0.0.1:{servers[role].port}",
            {"namespace": g.args["namespace"], "app": g.args["app"], "role": role, "pod": f"model-server-{role}"},
        )
        for g in gates
        for role in ROLES
    ]
    instances = trained.instances()
    scores = trained.pipeline.predict_proba(trained.x_test)[:, 1]
    rng = np.random.default_rng(7)

    def resample(rows: np.ndarray) -> list[dict[str, Any]]:
        return [instances[i] for i in rng.choice(rows, size=PREDICTIONS, replace=True)]

    held_out = np.arange(len(instances))
    scored_high = held_out[scores > np.median(scores)]

    interval = f"{SCRAPE_SECONDS:g}s"
    with PrometheusServer(tmp_path, targets, binary=require_binary("prometheus"), scrape_interval=interval) as prom:
        prom.wait_for_scrapes(2, timeout=30)
        time.sleep(SCRAPE_SECONDS)
        a_start = time.time() - 1.5 * SCRAPE_SECONDS  # holds a scrape of the untouched (zero) counters
        before = evaluate(prom, gates, a_start, time.time())
        assert all(result == [] for result in before.values()), f"no traffic, no verdict: {before}"

        # Case A: the same distribution on both sides.
        answered_a = {role: predict(servers[role], resample(held_out)) for role in ROLES}
        a_end = wait_until_scraped(prom, targets, dict.fromkeys(ROLES, PREDICTIONS))
        case_a = evaluate(prom, gates, a_start, a_end)

        # Case B, in a window from a_end on (only A's final counts, then B): the canary serves a population the
        # model scores high.
        time.sleep(1.5 * SCRAPE_SECONDS)  # scrapes of A's final counts, before B starts
        answered_b = {"canary": predict(servers["canary"], resample(scored_high))}
        answered_b["stable"] = predict(servers["stable"], resample(held_out))
        b_end = wait_until_scraped(prom, targets, dict.fromkeys(ROLES, 2 * PREDICTIONS))
        case_b = evaluate(prom, gates, a_end, b_end)

    expected_a = python_psi(answered_a["canary"], answered_a["stable"])
    expected_b = python_psi(answered_b["canary"], answered_b["stable"])
    strictest = min(g.max_psi for g in gates)
    for g in gates:
        (psi_a,) = case_a[g.environment]
        (psi_b,) = case_b[g.environment]
        # A: Prometheus computes the PSI of exactly what the servers answered, and it is small.
        assert psi_a == pytest.approx(expected_a, rel=1e-9, abs=1e-12), (g.environment, psi_a, expected_a)
        assert psi_a < strictest / 2, f"{g.environment}: two equal servers scored {psi_a}"
        assert g.phase([psi_a]) == "Successful"
        # B: far above every threshold, and the measurement fails.
        assert psi_b > 2 * g.max_psi, f"{g.environment}: the shifted canary scored only {psi_b}"
        assert psi_b == pytest.approx(expected_b, rel=0.25), (g.environment, psi_b, expected_b)
        assert g.phase([psi_b]) == "Failed"
