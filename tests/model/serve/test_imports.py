"""The serving path imports none of the pipeline's heavy libraries (they are not in the image)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.model.serve.helpers import ROOT
from tests.model.serve.training import TrainedModel

#: Top-level packages of the `pipeline` dependency group; none of them is installed in the image.
FORBIDDEN = ("mlflow", "dvc", "great_expectations", "shap", "fairlearn", "sklego", "matplotlib", "ruamel")

PROBE = """
import json, os, sys
from pathlib import Path
import uvicorn  # what `python -m model.serve` runs
import model.serve.__main__
from model.serve.app import build_app
from model.serve.config import Settings
from model.serve.service import ModelService
service = ModelService.load(Path(sys.argv[1]), threads=1)
build_app(Settings(model_dir=Path(sys.argv[1])), service)
print(json.dumps(sorted(sys.modules)))
"""


def test_serving_imports_no_pipeline_library(trained: TrainedModel) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(trained.model_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    modules = json.loads(result.stdout.strip().splitlines()[-1])
    loaded = sorted({m.split(".")[0] for m in modules} & set(FORBIDDEN))
    assert loaded == []
    assert "model.serve.app" in modules  # the probe really imported the server
