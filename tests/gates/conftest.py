"""The gate tests read a pipeline's outputs, so they run only when LIGHTHOUSE_GATES_ROOT names a project root:
`python -m ci.gates` sets it (and is how the pipeline and CI run them). A plain `pytest` skips this folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ci.gate_plan import GateSpec
from ci.gate_plugin import MARKER, PLUGIN_NAME, ROOT_ENV, GateCheck, GatePlugin
from ci.outputs import PipelineOutputs

HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(family): a gate test, parametrised over that family's gates")
    root = os.environ.get(ROOT_ENV)
    if root and config.pluginmanager.get_plugin(PLUGIN_NAME) is None:
        config.pluginmanager.register(GatePlugin(Path(root)), PLUGIN_NAME)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if not os.environ.get(ROOT_ENV) and collection_path.parent == HERE and collection_path.name.startswith("test_"):
        return True
    return None


@pytest.fixture
def outputs(request: pytest.FixtureRequest) -> PipelineOutputs:
    return GatePlugin.of(request.config).outputs


@pytest.fixture
def gate(request: pytest.FixtureRequest, spec: GateSpec) -> GateCheck:
    return GatePlugin.of(request.config).open(request.node, spec)
