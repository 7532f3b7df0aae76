"""model/core/paths.py and dvc.yaml name the same files: a stage cannot write where the next one does not read."""

from __future__ import annotations

from pathlib import Path

import yaml

from model.core import paths

ROOT = Path(__file__).resolve().parents[3]


def _declared() -> set[str]:
    """Every dep, out, metric and plot path in dvc.yaml."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    found: set[str] = set()
    for stage in stages.values():
        for key in ("deps", "outs", "metrics", "plots"):
            for entry in stage.get(key, []):
                found.add(next(iter(entry)) if isinstance(entry, dict) else entry)
    return found


def test_every_path_constant_is_declared_in_dvc_yaml() -> None:
    declared = _declared()
    covered = {p for p in declared} | {str(Path(p).parent) for p in declared}
    constants = {name: str(value) for name, value in vars(paths).items() if isinstance(value, Path)}
    missing = {
        name: value
        for name, value in constants.items()
        if value not in covered and value != "params.yaml" and name not in paths.OUTSIDE_PIPELINE
    }
    assert not missing, f"model/core/paths.py names files dvc.yaml does not declare: {missing}"


def test_every_stage_command_is_a_module_that_exists() -> None:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        command = stage["cmd"].split()
        assert command[:2] == ["python", "-m"], f"stage {name}: run stages as `python -m package.module`"
        module = ROOT / (command[2].replace(".", "/") + ".py")
        package = ROOT / command[2].replace(".", "/") / "__main__.py"
        assert module.exists() or package.exists(), f"stage {name}: {command[2]} not found"
