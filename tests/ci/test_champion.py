"""The champion's release record (docs/release-record.md) is read strictly where it matters, and its absence is
a note, not an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ci import champion
from model import paths
from model.errors import ConfigError
from tests.ci.crafted import fast_params, release_record

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
    record = release_record({"roc_auc": 0.7, "brier": 0.13}, {"colour": {"demographic_parity_difference": 0.03}})
    record["future_key"] = {"kept": True}  # the promotion tool may add keys: they survive
    _write_record(root, record)
    assert champion.main(["--root", str(root)]) == 0
    first = (root / paths.CHAMPION_SNAPSHOT).read_bytes()
    snapshot = json.loads(first)
    read = champion.champion_from_snapshot(snapshot)
    assert read is not None
    assert read.model.version == "7"
    assert read.metrics == {"roc_auc": 0.7, "brier": 0.13}
    assert read.fairness["colour"]["demographic_parity_difference"] == 0.03
    assert snapshot["record"]["future_key"] == {"kept": True}
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
    ],
)
def test_malformed_record_names_file_and_field(root: Path, mutate, expected: str) -> None:
    record = release_record({"roc_auc": 0.7})
    mutate(record)
    _write_record(root, record)
    with pytest.raises(ConfigError, match=expected) as info:
        champion.snapshot(root)
    assert str(root / RECORD) in str(info.value)
    assert champion.main(["--root", str(root)]) == 2
    assert not (root / paths.CHAMPION_SNAPSHOT).exists()


def test_unparseable_record(root: Path) -> None:
    _write_record(root, "{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        champion.snapshot(root)
    _write_record(root, "[1, 2]")
    with pytest.raises(ConfigError, match="expected a JSON object, got list"):
        champion.snapshot(root)
