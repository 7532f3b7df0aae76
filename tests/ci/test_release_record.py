"""The release record: built from the pipeline's files, deterministic bytes, errors that name file and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci.release_record import ReleaseError, build, loads, make_image, parse_image
from tests.ci.promote_fixtures import REPOSITORY, digest, write_facts

SHA = "ab" * 32


def build_from(facts: dict[str, Path], **overrides: object) -> str:
    kwargs: dict[str, object] = {
        "environment": "staging",
        "image": parse_image(f"{REPOSITORY}@{digest('x')}"),
        "metrics": facts["metrics"],
        "fairness": facts["fairness"],
        "gates": facts["gates"],
        "model_record": facts["model_record"],
        "registration": facts["registration"],
        "model_name": None,
    }
    kwargs.update(overrides)
    return build(**kwargs).dumps()  # type: ignore[arg-type]


def test_record_matches_the_documented_shape_and_is_deterministic(tmp_path: Path) -> None:
    facts = write_facts(tmp_path, model_sha256=SHA)
    text = build_from(facts)
    assert text == build_from(facts)
    assert text.endswith("}\n")
    record = json.loads(text)
    assert list(record) == sorted(record)
    assert set(record) == {
        "schema_version", "environment", "git_sha", "model", "data", "image", "metrics", "fairness", "gates",
    }  # fmt: skip
    assert record["model"] == {
        "name": "lighthouse-model",
        "version": "3",
        "mlflow_run_id": "0123456789abcdef0123456789abcdef",
        "sha256": SHA,
    }
    assert record["metrics"]["roc_auc"] == 0.7021
    assert record["gates"] == {"passed": True, "failed": []}
    assert loads(text, "release.json").dumps() == text


def test_failed_gates_are_named(tmp_path: Path) -> None:
    facts = write_facts(tmp_path, model_sha256=SHA, passed=False)
    assert json.loads(build_from(facts))["gates"] == {"passed": False, "failed": ["demographic_parity_max"]}


def test_a_local_sqlite_registry_version_is_not_recorded(tmp_path: Path) -> None:
    facts = write_facts(tmp_path, model_sha256=SHA, tracking="local sqlite")
    assert json.loads(build_from(facts))["model"]["version"] is None


def test_without_registration_the_model_name_comes_from_params(tmp_path: Path) -> None:
    facts = write_facts(tmp_path, model_sha256=SHA)
    record = json.loads(build_from(facts, registration=None, model_name="from-params"))
    assert record["model"]["name"] == "from-params"
    assert record["model"]["version"] is None
    with pytest.raises(ReleaseError, match="model name unknown"):
        build_from(facts, registration=None)


def test_a_registration_of_another_model_is_refused(tmp_path: Path) -> None:
    facts = write_facts(tmp_path, model_sha256=SHA)
    registration = json.loads(facts["registration"].read_text())
    facts["registration"].write_text(json.dumps({**registration, "sha256": "cd" * 32}))
    with pytest.raises(ReleaseError, match="belongs to another model"):
        build_from(facts)


@pytest.mark.parametrize(
    ("fact", "content", "message"),
    [
        ("gates", {"gates": []}, r"gates.json: passed: expected true or false, got None"),
        ("gates", [1], r"gates.json: expected a JSON object"),
        ("metrics", {"note": "none"}, r"metrics.json: no numeric metrics"),
        ("model_record", {"sha256": "short", "data_hash": "d", "git_sha": "g"}, r"model.sha256: String should match"),
    ],
)
def test_bad_facts_name_file_field_and_value(tmp_path: Path, fact: str, content: object, message: str) -> None:
    facts = write_facts(tmp_path, model_sha256=SHA)
    facts[fact].write_text(json.dumps(content))
    with pytest.raises(ReleaseError, match=message):
        build_from(facts, registration=None, model_name="m")


def test_missing_fact_file_is_named(tmp_path: Path) -> None:
    facts = write_facts(tmp_path, model_sha256=SHA)
    facts["fairness"].unlink()
    with pytest.raises(ReleaseError, match=r"fairness.json: not found"):
        build_from(facts)


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("ghcr.io/o/r:v1", "pinned by digest"),
        ("ghcr.io/o/r@sha256:abc", "--image: digest: String should match"),
        ("noslash@" + "sha256:" + "a" * 64, "--image: repository: String should match"),
    ],
)
def test_image_references_must_be_pinned_by_digest(reference: str, message: str) -> None:
    with pytest.raises(ReleaseError, match=message):
        parse_image(reference)


def test_repository_is_lower_cased_and_tags_refused() -> None:
    assert make_image("GHCR.io/Acme/Repo", digest("x")).repository == "ghcr.io/acme/repo"
    with pytest.raises(ReleaseError, match="carries a tag"):
        make_image("ghcr.io/acme/repo:v1", digest("x"))


def test_loads_rejects_unknown_fields_and_bad_environment(tmp_path: Path) -> None:
    facts = write_facts(tmp_path, model_sha256=SHA)
    record = json.loads(build_from(facts))
    with pytest.raises(ReleaseError, match=r"k8s/overlays/x/release\.json: surprise: Extra inputs"):
        loads(json.dumps({**record, "surprise": 1}), "k8s/overlays/x/release.json")
    with pytest.raises(ReleaseError, match="environment"):
        loads(json.dumps({**record, "environment": "qa"}), "release.json")
    with pytest.raises(ReleaseError, match="not valid JSON"):
        loads("{", "release.json")
