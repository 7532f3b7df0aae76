"""The champion's release record (docs/release-record.md) is read with the promotion tool's own reader, its absence
is a note, not an error, and the record that tool builds from this pipeline's outputs is one the gates can read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ci import champion, release_record
from ci.gate_plugin import GateResult, summarise
from ci.outputs import PipelineOutputs
from model.core import paths
from tests.ci import crafted
from tests.ci.crafted import champion_record as record_dict
from tests.ci.crafted import fast_params

RECORD = Path("k8s/overlays/production/release.json")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / paths.PARAMS).write_text(yaml.safe_dump(fast_params()))
    return tmp_path


def _write_record(root: Path, record: object) -> None:
    (root / RECORD).parent.mkdir(parents=True, exist_ok=True)
    (root / RECORD).write_text(json.dumps(record) if not isinstance(record, str) else record)


def test_no_record_means_no_champion_yet(root: Path) -> None:
    assert champion.main(["--root", str(root)]) == 0
    snapshot = json.loads((root / paths.CHAMPION_SNAPSHOT).read_text())
    assert snapshot == {
        "present": False,
        "source": str(RECORD),
        "note": f"no champion yet: {RECORD} does not exist",
    }
    assert champion.champion_from_snapshot(snapshot) is None


def test_record_is_snapshotted_and_read_back(root: Path) -> None:
    record = record_dict({"roc_auc": 0.7, "brier": 0.13}, {"colour": {"demographic_parity_difference": 0.03}})
    _write_record(root, record)
    assert champion.main(["--root", str(root)]) == 0
    first = (root / paths.CHAMPION_SNAPSHOT).read_bytes()
    snapshot = json.loads(first)
    read = champion.champion_from_snapshot(snapshot)
    assert read is not None
    assert read.model.version == "7"
    assert read.metrics == {"roc_auc": 0.7, "brier": 0.13}
    assert read.fairness["colour"]["demographic_parity_difference"] == 0.03
    # Same record, same bytes: DVC sees no change and does not rerun the gates.
    assert champion.main(["--root", str(root)]) == 0
    assert (root / paths.CHAMPION_SNAPSHOT).read_bytes() == first


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r.update(schema_version=2), r"schema_version: Input should be 1"),
        (lambda r: r["metrics"].update(roc_auc="high"), r"metrics\.roc_auc: Input should be a valid number"),
        (lambda r: r.pop("model"), r"model: Field required"),
        (lambda r: r["model"].pop("sha256"), r"model\.sha256: Field required"),
        (lambda r: r.update(extra=1), r"extra: Extra inputs are not permitted"),
    ],
)
def test_malformed_record_names_file_and_field(root: Path, mutate, expected: str) -> None:
    record = record_dict({"roc_auc": 0.7})
    mutate(record)
    _write_record(root, record)
    with pytest.raises(release_record.ReleaseError, match=expected) as info:
        champion.snapshot(root)
    assert str(root / RECORD) in str(info.value)
    assert champion.main(["--root", str(root)]) == 2
    assert not (root / paths.CHAMPION_SNAPSHOT).exists()


def test_unparseable_record(root: Path) -> None:
    _write_record(root, "{not json")
    with pytest.raises(release_record.ReleaseError, match="not valid JSON"):
        champion.snapshot(root)


def test_the_record_promotion_builds_from_our_outputs_is_the_champion_the_gates_read(
    tmp_path: Path, example, sound_model
) -> None:
    """ci.release_record.build (the promotion tool) on this pipeline's fairness.json and gates.json."""
    project = crafted.craft(tmp_path, sound_model, example.test, fast_params(), example.contract_dict)
    outputs = PipelineOutputs(tmp_path)
    results = [
        GateResult("metric.roc_auc.min", "metric", True, "pass", 0.7, 0.65, ">=", ""),
        GateResult("latency", "latency", False, "warn", 80.0, 50.0, "<=", ""),
    ]
    (tmp_path / paths.GATES_REPORT).write_text(json.dumps(summarise(results, outputs)))
    record = release_record.build(
        environment="production",
        image=release_record.make_image("ghcr.io/example/lighthouse", "sha256:" + "ef" * 32),
        metrics=tmp_path / paths.METRICS,
        fairness=tmp_path / paths.FAIRNESS_REPORT,
        gates=tmp_path / paths.GATES_REPORT,
        model_record=tmp_path / paths.MODEL_RECORD,
        registration=None,
        model_name="lighthouse-model",
    )
    fairness = outputs.fairness["attributes"]
    assert set(record.fairness) == {a.column for a in example.contract.sensitive_attributes}
    assert record.fairness["colour"] == {
        key: fairness["colour"][key]
        for key in ("demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference")
    }
    assert record.gates.passed is True
    assert record.gates.failed == []  # an advisory warning is not a failure
    assert record.metrics == outputs.metrics
    # Promoted, it becomes the champion the regression gates compare against.
    (project.root / RECORD).parent.mkdir(parents=True, exist_ok=True)
    (project.root / RECORD).write_text(record.dumps())
    assert champion.champion_from_snapshot(champion.snapshot(project.root)) == record
