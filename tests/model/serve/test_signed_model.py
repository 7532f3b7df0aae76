"""Start-up verification when the deployment configures it: a model signed with a locally generated key pair
serves; the same model with a payload planted (record re-hashed, signature kept) is refused by `--check` and by the
server with exit code 2 and one JSON line, before anything in it runs; so is a sha256 the deployment did not pin."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from model.core import artifact
from tests.model.crafted_skops import plant
from tests.model.serve.helpers import run_server_to_exit, start_server
from tests.model.serve.test_crafted_model import check, only_json_line
from tests.model.serve.training import TrainedModel


@pytest.fixture
def signed(trained: TrainedModel, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the model signed as `cosign sign-blob --key cosign.key --output-signature` does; its public key."""
    model_dir = tmp_path / "model"
    shutil.copytree(trained.model_dir, model_dir)
    private = ec.generate_private_key(ec.SECP256R1())
    signature = private.sign((model_dir / artifact.ARTIFACT_NAME).read_bytes(), ec.ECDSA(hashes.SHA256()))
    (model_dir / "model.skops.sig").write_bytes(base64.b64encode(signature))
    key = tmp_path / "cosign.pub"
    key.write_bytes(
        private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return model_dir, key


def test_a_signed_model_serves(signed: tuple[Path, Path], tmp_path: Path, trained: TrainedModel) -> None:
    model_dir, key = signed
    server = start_server(
        model_dir, tmp_path / "server.log", MODEL_SIGNING_KEY=str(key), MODEL_SHA256=trained.record.sha256
    )
    try:
        assert server.client.get("/version").json()["sha256"] == trained.record.sha256
    finally:
        assert server.stop() == 0


def test_a_tampered_signed_model_is_refused_before_it_runs(signed: tuple[Path, Path], tmp_path: Path) -> None:
    model_dir, key = signed
    marker = tmp_path / "payload-ran"
    plant(model_dir, "builtins.exec", marker)
    for result in (
        check(model_dir, MODEL_SIGNING_KEY=str(key)),
        run_server_to_exit(model_dir, MODEL_SIGNING_KEY=str(key)),
    ):
        assert result.returncode == 2, result.stdout + result.stderr
        assert "signature does not verify" in str(only_json_line(result.stdout)["message"])
    assert not marker.exists()


def test_an_unpinned_sha256_or_a_missing_key_is_refused(signed: tuple[Path, Path], tmp_path: Path) -> None:
    model_dir, _ = signed
    pinned = run_server_to_exit(model_dir, MODEL_SHA256="0" * 64)
    assert pinned.returncode == 2
    assert "the deployment pins" in str(only_json_line(pinned.stdout)["message"])
    missing = run_server_to_exit(model_dir, MODEL_SIGNING_KEY=str(tmp_path / "absent.pub"))
    assert missing.returncode == 2
    assert "MODEL_SIGNING_KEY" in str(only_json_line(missing.stdout)["message"])
