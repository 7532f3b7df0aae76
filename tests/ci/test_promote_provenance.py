"""Provenance bound across record, registry, release and image before a promotion commits anything.

- the image's build-provenance attestation: the decision is tested on `gh attestation verify --format json` output
  shaped as gh prints it (tests/ci/data, fields from a real run); gh with `attestation` (2.49+) is not installable
  here, so the promotion path runs a stand-in `gh` that prints that JSON or fails as gh does;
- the registry's `model_sha256` tag, against a real `mlflow server` process;
- who pushes: the promotion App's bot, or GITHUB_TOKEN where no ruleset blocks it (GitHub's REST shapes on
  127.0.0.1, tests/ci/fake_github.py).
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from ci import attestation, promote, push_identity
from ci.github_api import GitHub
from ci.gitrepo import BOT_EMAIL
from tests.ci.fake_github import REPO, TOKEN, FakeGitHub, serve
from tests.ci.promote_fixtures import ACTIONS_VARS, REPOSITORY, GitOpsRepo, digest, facts_args, git, write_facts
from tests.model.core.test_tracking_server import mlflow_server  # noqa: F401 - a real `mlflow server` per module

DATA = Path(__file__).parent / "data" / "gh-attestation-verify.json"
IDENTITY = attestation.Identity("acme/lighthouse")
MODEL_SHA = "ab" * 32


@pytest.fixture(autouse=True)
def _no_actions_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ACTIONS_VARS:
        monkeypatch.delenv(name, raising=False)


def gh_output(image_digest: str) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = json.loads(DATA.read_text().replace("DIGEST", image_digest.removeprefix("sha256:")))
    return results


# --- the decision on gh's JSON ---------------------------------------------------------------------------------------


def test_an_attestation_from_this_repositorys_main_workflow_passes() -> None:
    assert attestation.result_problems(gh_output(digest("one")), digest("one"), IDENTITY) == []


def _certificate(results: list[dict[str, Any]]) -> dict[str, Any]:
    certificate: dict[str, Any] = results[0]["verificationResult"]["signature"]["certificate"]
    return certificate


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("buildSignerURI", "https://github.com/acme/lighthouse/.github/workflows/pr.yml@refs/heads/main", "pr.yml"),
        (
            "buildSignerURI",
            "https://github.com/mallory/lighthouse/.github/workflows/main.yml@refs/heads/main",
            "mallory",
        ),
        ("sourceRepositoryURI", "https://github.com/mallory/lighthouse", "sourceRepositoryURI"),
        ("sourceRepositoryRef", "refs/heads/feature", "refs/heads/feature"),
        ("runnerEnvironment", "self-hosted", "self-hosted"),
        ("issuer", "https://accounts.example.com", "issuer"),
    ],
)
def test_an_attestation_signed_by_another_workflow_is_refused(field: str, value: str, words: str) -> None:
    results = gh_output(digest("one"))
    _certificate(results)[field] = value
    problems = attestation.result_problems(results, digest("one"), IDENTITY)
    assert problems
    assert any(words in p for p in problems), problems


def test_an_attestation_for_another_image_or_predicate_is_refused() -> None:
    assert attestation.result_problems(gh_output(digest("other")), digest("one"), IDENTITY)
    results = gh_output(digest("one"))
    results[0]["verificationResult"]["statement"]["predicateType"] = "https://spdx.dev/Document/v2.3"
    assert attestation.result_problems(results, digest("one"), IDENTITY)
    assert attestation.result_problems([], digest("one"), IDENTITY) == ["gh returned no verified attestation"]


def test_one_good_attestation_among_others_is_enough() -> None:
    bad = gh_output(digest("one"))
    _certificate(bad)["buildSignerURI"] = "https://github.com/acme/lighthouse/.github/workflows/x.yml@refs/heads/main"
    assert attestation.result_problems([*bad, *gh_output(digest("one"))], digest("one"), IDENTITY) == []


def test_the_gh_command_pins_the_signer_workflow_and_source_ref() -> None:
    argv = attestation.command(f"{REPOSITORY}@{digest('one')}", IDENTITY)
    assert argv[:4] == ["gh", "attestation", "verify", f"oci://{REPOSITORY}@{digest('one')}"]
    flags = dict(zip(argv[4::2], argv[5::2], strict=False))
    assert flags["--repo"] == "acme/lighthouse"
    assert flags["--signer-workflow"] == "acme/lighthouse/.github/workflows/main.yml"
    assert flags["--source-ref"] == "refs/heads/main"
    assert flags["--predicate-type"] == attestation.SLSA_PROVENANCE
    assert "--deny-self-hosted-runners" in argv


@pytest.mark.parametrize(
    ("visibility", "setting", "enabled"),
    [("public", "auto", True), ("private", "auto", False), ("internal", "auto", False), ("private", "true", True)],
)
def test_attestations_on_public_repositories_and_a_notice_elsewhere(
    visibility: str, setting: str, enabled: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    output, summary = tmp_path / "output", tmp_path / "summary"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert attestation.main(["decide", "--visibility", visibility, "--setting", setting]) == 0
    assert output.read_text() == f"enabled={'true' if enabled else 'false'}\n"
    out = capsys.readouterr().out
    assert out.startswith("::notice title=Build provenance attestation")
    if not enabled:
        assert "skipped" in out
        assert "GitHub Enterprise Cloud" in out
        assert "skipped" in summary.read_text()
    assert attestation.main(["decide", "--visibility", "public", "--setting", "maybe"]) == 1


# --- the production promotion verifies before it commits ------------------------------------------------------------


@pytest.fixture
def staged(tmp_path: Path) -> tuple[GitOpsRepo, Path]:
    repo = GitOpsRepo(tmp_path)
    clone = repo.clone("promoter")
    facts = write_facts(tmp_path / "facts", model_sha256=MODEL_SHA)
    image = f"{REPOSITORY}@{digest('one')}"
    assert promote.main(["--env", "staging", "--image", image, *facts_args(facts), "--root", str(clone)]) == 0
    return repo, clone


def stand_in_gh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payload: Any, exit_code: int = 0) -> Path:
    """A `gh` on PATH that records its arguments and answers like `gh attestation verify --format json`."""
    bin_dir = tmp_path / "gh-bin"
    bin_dir.mkdir()
    (bin_dir / "answer.json").write_text(json.dumps(payload))
    script = bin_dir / "gh"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > "{bin_dir}/argv"\n'
        f'if [ {exit_code} -ne 0 ]; then echo "Error: no attestations found" >&2; exit {exit_code}; fi\n'
        f'cat "{bin_dir}/answer.json"\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def production(clone: Path) -> int:
    return promote.main(
        [
            "--env",
            "production",
            "--from-env",
            "staging",
            "--root",
            str(clone),
            "--verify-attestation",
            "acme/lighthouse",
        ]
    )


def test_production_verifies_the_attestation_then_commits(
    staged: tuple[GitOpsRepo, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, clone = staged
    recorded = stand_in_gh(tmp_path, monkeypatch, gh_output(digest("one")))
    assert production(clone) == 0
    assert "--signer-workflow acme/lighthouse/.github/workflows/main.yml" in (recorded / "argv").read_text()
    assert git(repo.origin, "log", "-1", "--format=%s", "main").startswith("promote(production):")


@pytest.mark.parametrize("case", ["missing", "another workflow", "another image"])
def test_production_refuses_without_a_valid_attestation_and_changes_nothing(
    staged: tuple[GitOpsRepo, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], case: str,
) -> None:  # fmt: skip
    repo, clone = staged
    payload = gh_output(digest("two" if case == "another image" else "one"))
    if case == "another workflow":
        _certificate(payload)["buildSignerURI"] = (
            "https://github.com/acme/lighthouse/.github/workflows/release.yml@refs/heads/main"
        )
    stand_in_gh(tmp_path, monkeypatch, payload, exit_code=1 if case == "missing" else 0)
    log = repo.origin_log()
    capsys.readouterr()
    assert production(clone) == promote.EXIT_REFUSED
    assert "nothing was changed" in capsys.readouterr().err
    assert repo.origin_log() == log
    assert not (clone / "k8s/overlays/production/release.json").exists()
    assert git(clone, "status", "--porcelain") == ""


# --- the registry's sha256 tag, on a real MLflow server --------------------------------------------------------------


def register_version(uri: str, sha256: str) -> str:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    name = "lighthouse-model"
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        client.create_registered_model(name)
    version = client.create_model_version(name, "s3://bucket/model", tags={promote.MODEL_SHA256_TAG: sha256})
    return str(version.version)


@pytest.mark.slow
def test_the_registry_must_name_the_released_artifact(
    mlflow_server: str,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ci.mlflow_rest import model_version_tags

    registry = mlflow_server
    good = register_version(registry, MODEL_SHA)
    assert model_version_tags(registry, "lighthouse-model", good)[promote.MODEL_SHA256_TAG] == MODEL_SHA
    tampered = register_version(registry, "cd" * 32)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry)
    repo = GitOpsRepo(tmp_path)
    clone = repo.clone("promoter")
    for version, expected in ((tampered, promote.EXIT_REFUSED), (good, promote.EXIT_OK)):
        facts = write_facts(tmp_path / f"facts-{version}", model_sha256=MODEL_SHA, version=version)
        image = f"{REPOSITORY}@{digest(version)}"
        log = repo.origin_log()
        capsys.readouterr()
        code = promote.main(["--env", "staging", "--image", image, *facts_args(facts), "--root", str(clone)])
        assert code == expected, capsys.readouterr().err
        if expected == promote.EXIT_REFUSED:
            assert repo.origin_log() == log
            assert f"model_sha256='{'cd' * 32}'" in capsys.readouterr().err
    assert json.loads((clone / "k8s/overlays/staging/release.json").read_text())["model"]["version"] == good


# --- who pushes ------------------------------------------------------------------------------------------------------


def api(url: str) -> GitHub:
    return GitHub(repo=REPO, token=TOKEN, api_url=url)


def test_the_app_pushes_as_its_bot_and_both_bots_are_trusted() -> None:
    state = FakeGitHub()
    state.users["lighthouse-promoter[bot]"] = 4242
    with serve(state) as url:
        pusher = push_identity.resolve(api(url), "main", "lighthouse-promoter")
    assert pusher.git_identity == "lighthouse-promoter[bot] <4242+lighthouse-promoter[bot]@users.noreply.github.com>"
    assert pusher.trusted == {"4242+lighthouse-promoter[bot]@users.noreply.github.com", BOT_EMAIL}
    assert pusher.notice is None


def test_without_an_app_github_token_is_used_where_no_ruleset_blocks_it_and_says_so() -> None:
    state = FakeGitHub()
    state.branch_rules["main"] = [{"type": "deletion"}, {"type": "non_fast_forward"}]
    with serve(state) as url:
        pusher = push_identity.resolve(api(url), "main", None)
    assert pusher.email == BOT_EMAIL
    assert pusher.notice is not None
    assert "GITHUB_TOKEN" in pusher.notice
    assert ("GET", f"/repos/{REPO}/rules/branches/main") in state.requests


def test_without_an_app_a_ruleset_requiring_pull_requests_fails_early_saying_what_to_set() -> None:
    state = FakeGitHub()
    state.branch_rules["main"] = [{"type": "pull_request"}, {"type": "required_status_checks"}]
    with serve(state) as url, pytest.raises(push_identity.PushIdentityError) as error:
        push_identity.resolve(api(url), "main", None)
    assert "pull_request, required_status_checks" in str(error.value)
    assert "PROMOTION_APP_ID" in str(error.value)
    assert "promotion_app_id" in str(error.value)


def test_the_promotion_commits_as_the_app_and_production_trusts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--github-identity` end to end: staging by the App's bot, production from another clone, both via the API."""
    state = FakeGitHub()
    state.users["lighthouse-promoter[bot]"] = 4242
    repo = GitOpsRepo(tmp_path)
    with serve(state) as url:
        for key, value in {"GITHUB_API_URL": url, "GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO}.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("PROMOTION_APP_SLUG", "lighthouse-promoter")
        facts = write_facts(tmp_path / "facts", model_sha256=MODEL_SHA)
        image = f"{REPOSITORY}@{digest('one')}"
        staging = ["--env", "staging", "--image", image, *facts_args(facts), "--github-identity"]
        assert promote.main([*staging, "--root", str(repo.clone("ci-1", email="runner@example.test"))]) == 0
        bot = "4242+lighthouse-promoter[bot]@users.noreply.github.com"
        assert git(repo.origin, "log", "-1", "--format=%ae %ce", "main") == f"{bot} {bot}"
        prod = ["--env", "production", "--from-env", "staging", "--github-identity"]
        assert promote.main([*prod, "--root", str(repo.clone("ci-2", email="runner@example.test"))]) == 0
        # A record hand-committed in staging by a person is then refused.
        forger = repo.clone("forger", email="mallory@example.test")
        record = forger / "k8s/overlays/staging/release.json"
        changed = copy.deepcopy(json.loads(record.read_text()))
        changed["metrics"]["roc_auc"] = 0.99
        record.write_text(json.dumps(changed, indent=2, sort_keys=True) + "\n")
        git(forger, "commit", "--quiet", "-am", "raise it")
        git(forger, "push", "--quiet", "origin", "HEAD:main")
        assert promote.main([*prod, "--root", str(repo.clone("ci-3", email="runner@example.test"))]) == 1
