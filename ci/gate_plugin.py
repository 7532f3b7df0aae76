"""The pytest plugin behind the gates: parametrises the gate tests from the plan, records each gate's name, value,
threshold and verdict, and writes reports/gates.json at the end of the session (JUnit XML comes from pytest).

A gate test asks for `spec` (its GateSpec), `outputs` (the pipeline outputs) and `gate` (a GateCheck), and ends
with `gate.check(...)`. A failing blocking gate fails its test; a failing advisory gate becomes an xfail (reported,
not blocking); an exception before a verdict is an `error`, blocking unless the gate is advisory.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from ci.gate_plan import FAMILIES, GateSpec, build_plan
from ci.outputs import PipelineOutputs
from model.core import paths
from model.core.io import write_json

#: Set by `python -m ci.gates` (or by hand): the project root whose outputs the gates read. Unset, the gate tests
#: are not collected, so a plain `pytest` run does not need pipeline outputs.
ROOT_ENV = "LIGHTHOUSE_GATES_ROOT"
PLUGIN_NAME = "lighthouse-gates"
MARKER = "gates"
DECIMALS = 6

Verdict = Literal["pass", "fail", "warn", "error"]
Comparison = Literal["<=", ">="]
COMPARE: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, ">=": operator.ge}


@dataclass(frozen=True)
class GateResult:
    """One line of reports/gates.json."""

    name: str
    family: str
    blocking: bool
    verdict: Verdict
    value: float | None
    threshold: float | None
    comparison: str
    detail: str

    @property
    def blocks(self) -> bool:
        return self.blocking and self.verdict in ("fail", "error")


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), DECIMALS)


class GateCheck:
    """What a gate test uses to report its verdict."""

    def __init__(self, spec: GateSpec, decided: dict[str, GateResult]) -> None:
        self.spec = spec
        self._decided = decided

    def check(self, value: float | None, threshold: float | None, comparison: Comparison, detail: str) -> None:
        """Pass when `value comparison threshold` holds; no value (not measurable) fails."""
        passed = value is not None and threshold is not None and COMPARE[comparison](value, threshold)
        self._decide(passed, value, threshold, comparison, detail)

    def note(self, detail: str, value: float | None = None) -> None:
        """Pass without a comparison, saying why (e.g. no champion yet)."""
        self._decide(True, value, None, "", detail)

    def _decide(self, passed: bool, value: float | None, threshold: float | None, comparison: str, detail: str) -> None:
        verdict: Verdict = "pass" if passed else ("fail" if self.spec.blocking else "warn")
        self._decided[self.spec.name] = GateResult(
            name=self.spec.name,
            family=self.spec.family,
            blocking=self.spec.blocking,
            verdict=verdict,
            value=_round(value),
            threshold=_round(threshold),
            comparison=comparison,
            detail=detail,
        )
        if verdict == "fail":
            pytest.fail(f"{self.spec.name}: {detail}", pytrace=False)
        if verdict == "warn":
            pytest.xfail(f"advisory {self.spec.name}: {detail}")


class GatePlugin:
    """Registered by tests/gates/conftest.py when ROOT_ENV is set."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.outputs = PipelineOutputs(root)
        self.plan = build_plan(self.outputs.params, self.outputs.contract, root / paths.PARAMS)
        self._decided: dict[str, GateResult] = {}
        self._results: dict[str, GateResult] = {}
        self._open: dict[str, GateSpec] = {}

    @staticmethod
    def of(config: pytest.Config) -> GatePlugin:
        plugin = config.pluginmanager.get_plugin(PLUGIN_NAME)
        if not isinstance(plugin, GatePlugin):
            raise RuntimeError(f"the gates plugin is not registered: set {ROOT_ENV} (python -m ci.gates does)")
        return plugin

    def open(self, item: pytest.Item, spec: GateSpec) -> GateCheck:
        """Start recording gate `spec` for test `item`."""
        self._open[item.nodeid] = spec
        item.user_properties += [("gate", spec.name), ("blocking", spec.blocking)]
        return GateCheck(spec, self._decided)

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        marker = metafunc.definition.get_closest_marker(MARKER)
        if marker is None or "spec" not in metafunc.fixturenames:
            return
        family = marker.args[0]
        if family not in FAMILIES:
            raise ValueError(f"{metafunc.definition.nodeid}: unknown gate family {family!r}")
        specs = [spec for spec in self.plan if spec.family == family]
        metafunc.parametrize("spec", specs, ids=[spec.name for spec in specs])

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        report = yield
        spec = self._open.get(item.nodeid)
        if spec is not None and spec.name not in self._results and (report.when == "call" or report.failed):
            result = self._decided.get(spec.name) or self._error(spec, call, report.passed)
            self._results[spec.name] = result
            for key in ("verdict", "value", "threshold", "detail"):
                item.user_properties.append((key, getattr(result, key)))
        return report

    def _error(self, spec: GateSpec, call: pytest.CallInfo[None], passed: bool) -> GateResult:
        if passed or call.excinfo is None:
            detail = "the gate test finished without a verdict (it must call gate.check or gate.note)"
        else:
            detail = call.excinfo.exconly().strip().splitlines()[-1]
        return GateResult(spec.name, spec.family, spec.blocking, "error", None, None, "", detail)

    def results(self) -> list[GateResult]:
        """Every planned gate in plan order; a gate that did not run is an error."""
        return [
            self._results.get(spec.name)
            or GateResult(spec.name, spec.family, spec.blocking, "error", None, None, "", "did not run")
            for spec in self.plan
        ]

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        write_json(self.root / paths.GATES_REPORT, summarise(self.results(), self.outputs))


def summarise(results: list[GateResult], outputs: PipelineOutputs) -> dict[str, Any]:
    """reports/gates.json: the verdict first (`passed`, `failed` as the release record wants them), then all."""
    blocked = [r.name for r in results if r.blocks]
    counts = {verdict: sum(r.verdict == verdict for r in results) for verdict in ("pass", "fail", "warn", "error")}
    snapshot = outputs.optional_json(paths.CHAMPION_SNAPSHOT) or {}
    return {
        "passed": not blocked,
        "failed": blocked,
        "advisory_warnings": [r.name for r in results if not r.blocking and r.verdict != "pass"],
        "counts": counts,
        "champion": {
            "present": bool(snapshot.get("present")),
            "source": snapshot.get("source"),
            "note": snapshot.get("note", "reports/champion.json not found"),
        },
        "gates": [asdict(r) for r in results],
    }
