"""`promtool test rules` on every analysis query and every alert, run on the exact rendered text.

The AnalysisTemplates are the single source of the analysis queries: this test substitutes arguments into
the rendered templates as Argo Rollouts does and records each query under `analysis:<metric>`; the
PrometheusRule's groups are written out as they render. The promtool fixtures in promql/ test those
files.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import require_binary
from tests.k8s.argo import analysis_queries, recording_rule_name, recording_rules, resolve_args
from tests.k8s.manifests import Manifest, of_kind, only

PROMQL_DIR = Path(__file__).parent / "promql"

#: The arguments analysis_test.yaml is written for (its header repeats them).
PROMQL_TEST_ARGS = {
    "namespace": "shop",
    "app": "model-server",
    "window": "5m",
    "min-requests": "20",
    "min-predictions": "100",
}


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_binary("promtool")


def _run_promtool(promtool: str, directory: Path, test_file: str) -> None:
    shutil.copy(PROMQL_DIR / test_file, directory / test_file)
    proc = subprocess.run(
        [promtool, "test", "rules", test_file],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"promtool test rules {test_file} failed:\n{proc.stdout}\n{proc.stderr}"


def write_analysis_rules(manifests: list[Manifest], directory: Path) -> dict[str, str]:
    queries = analysis_queries(of_kind(manifests, "AnalysisTemplate"), PROMQL_TEST_ARGS)
    (directory / "analysis_rules.yaml").write_text(yaml.safe_dump(recording_rules(queries), sort_keys=False))
    return queries


def write_alert_rules(manifests: list[Manifest], directory: Path) -> dict[str, Any]:
    rules = {"groups": only(manifests, "PrometheusRule")["spec"]["groups"]}
    (directory / "prometheusrule.yaml").write_text(yaml.safe_dump(rules, sort_keys=False))
    return rules


# The queries and rules are the same text in every environment (asserted below and by test_environments.py),
# so promtool runs once, on staging's render.


def test_analysis_queries_pass_their_promtool_tests(
    rendered: dict[str, list[Manifest]], promtool: str, tmp_path: Path
) -> None:
    write_analysis_rules(rendered["staging"], tmp_path)
    _run_promtool(promtool, tmp_path, "analysis_test.yaml")


def test_alert_rules_pass_their_promtool_tests(
    rendered: dict[str, list[Manifest]], promtool: str, tmp_path: Path
) -> None:
    write_alert_rules(rendered["staging"], tmp_path)
    _run_promtool(promtool, tmp_path, "alerts_test.yaml")


def test_tested_expressions_are_the_template_queries(rendered: dict[str, list[Manifest]], tmp_path: Path) -> None:
    """promtool loads the templates' query strings, character for character, with args substituted."""
    write_analysis_rules(rendered["staging"], tmp_path)
    recorded = {
        rule["record"]: rule["expr"]
        for rule in yaml.safe_load((tmp_path / "analysis_rules.yaml").read_text())["groups"][0]["rules"]
    }
    templates = of_kind(rendered["staging"], "AnalysisTemplate")
    expected = {
        recording_rule_name(metric["name"]): resolve_args(metric["provider"]["prometheus"]["query"], PROMQL_TEST_ARGS)
        for template in templates
        for metric in template["spec"]["metrics"]
    }
    assert recorded == expected
    assert len(recorded) == 3
    # And the queries and rules are the same in every environment: only the analysis arguments differ.
    for manifests in rendered.values():
        assert [t["spec"] for t in of_kind(manifests, "AnalysisTemplate")] == [t["spec"] for t in templates]
        assert only(manifests, "PrometheusRule")["spec"] == only(rendered["staging"], "PrometheusRule")["spec"]


def test_every_analysis_query_and_alert_has_a_promtool_test(rendered: dict[str, list[Manifest]]) -> None:
    analysis_tests = yaml.safe_load((PROMQL_DIR / "analysis_test.yaml").read_text())["tests"]
    tested = " ".join(t["expr"] for group in analysis_tests for t in group.get("promql_expr_test", []))
    for template in of_kind(rendered["staging"], "AnalysisTemplate"):
        for metric in template["spec"]["metrics"]:
            name = recording_rule_name(metric["name"])
            assert re.search(rf"\b{re.escape(name)}\b", tested), f"no promtool test for {name}"

    alert_tests = yaml.safe_load((PROMQL_DIR / "alerts_test.yaml").read_text())["tests"]
    firing = {t["alertname"] for group in alert_tests for t in group.get("alert_rule_test", []) if t["exp_alerts"]}
    quiet = {t["alertname"] for group in alert_tests for t in group.get("alert_rule_test", []) if not t["exp_alerts"]}
    rules = [r for g in only(rendered["staging"], "PrometheusRule")["spec"]["groups"] for r in g["rules"]]
    alerts = {r["alert"] for r in rules if "alert" in r}
    assert alerts == {
        "LighthouseHighErrorRate",
        "LighthouseHighLatencyP99",
        "LighthousePredictionDrift",
        "LighthouseInferenceLogDropping",
        "LighthouseRequestsBreakContract",
        "LighthouseMonitorJobFailed",
        "LighthouseMonitorNotSucceeding",
    }
    assert firing == alerts, "each alert must be shown to fire"
    assert quiet == alerts, "each alert must be shown to stay quiet"
    expressions = " ".join(t["expr"] for group in alert_tests for t in group.get("promql_expr_test", []))
    for record in (r["record"] for r in rules if "record" in r):
        used_by_tested_rules = any(record in r["expr"] for r in rules if r.get("record") != record)
        assert record in expressions or used_by_tested_rules, f"recording rule {record} is never tested"
