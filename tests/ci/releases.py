"""Two real staging promotions in a real git repository, with the model versions they name in a real MLflow registry.

The promotions are made by `ci.promote` itself, so the commits, release records and trailers are the real thing; the
cluster objects of tests/ci/cluster_objects are filled with those commits and digests.
"""

from __future__ import annotations

import itertools
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from ci import promote, registry
from tests.ci.cluster import VALUES, digest
from tests.ci.promote_fixtures import PROJECT_ROOT, REPOSITORY, GitOpsRepo, facts_args, git, write_facts

PREVIOUS_SHA256 = "cd" * 32
RELEASE_SHA256 = "ab" * 32
_names = (f"verified-model-{i}" for i in itertools.count())


@dataclass(frozen=True)
class Releases:
    repo: GitOpsRepo
    clone: Path
    model: str
    uri: str
    previous: str  # the previous promotion commit (version 2)
    commit: str  # the promotion under test (version 3)

    @property
    def values(self) -> dict[str, str]:
        """Placeholders of the cluster objects, filled with this repository's commits."""
        return {**VALUES, "COMMIT": self.commit, "PREVIOUS_COMMIT": self.previous}

    def alias(self, name: str) -> str | None:
        return registry.alias_version(self.model, name, self.uri)

    def promote(self, env: str, seed: str, sha256: str, version: str) -> str:
        """Promote image `digest(seed)` with model `version` into `env`; return the new commit on origin."""
        facts = write_facts(self.clone.parent / f"facts-{seed}", model_sha256=sha256, version=version)
        registration = json.loads(facts["registration"].read_text())
        facts["registration"].write_text(json.dumps({**registration, "name": self.model}))
        image = f"{REPOSITORY}@{digest(seed)}"
        code = promote.main(["--env", env, "--image", image, *facts_args(facts), "--root", str(self.clone)])
        assert code == 0
        return git(self.repo.origin, "rev-parse", "main")


def registered(uri: str, name: str, versions: dict[str, str], source: Path | str) -> None:
    """Register `name` with one version per sha256 (in order), each tagged as model/stages/register.py tags it.

    `source` is where the artifacts would be: a local directory for a sqlite store; a tracking server refuses local
    paths outside a run, so give it a remote URI (nothing is read from it).
    """
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(name)
    for version, sha256 in versions.items():
        created = client.create_model_version(name, source=str(source), tags={registry.MODEL_SHA256_TAG: sha256})
        assert str(created.version) == version


def two_promotions(tmp_path: Path, uri: str) -> Releases:
    """Versions 1-3 registered, `staging` on 2; staging promoted to version 2, then to version 3 (the one to verify)."""
    repo = GitOpsRepo(tmp_path)
    clone = repo.clone("ci")
    argocd = clone / "k8s/argocd"
    argocd.mkdir(parents=True)
    for env in ("staging", "production"):
        shutil.copy(PROJECT_ROOT / f"k8s/argocd/application-{env}.yaml", argocd)
    git(clone, "add", "-A")
    git(clone, "commit", "--quiet", "-m", "Argo CD Applications")
    git(clone, "push", "--quiet", "origin", "HEAD:main")
    model = next(_names)
    registered(uri, model, {"1": "ef" * 32, "2": PREVIOUS_SHA256, "3": RELEASE_SHA256}, tmp_path)
    releases = Releases(repo, clone, model, uri, previous="", commit="")
    previous = releases.promote("staging", "previous release", PREVIOUS_SHA256, "2")
    registry.set_alias(model, registry.STAGING_ALIAS, "2", uri)
    current = releases.promote("staging", "release", RELEASE_SHA256, "3")
    return Releases(repo, clone, model, uri, previous=previous, commit=current)
