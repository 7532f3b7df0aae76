"""The deployment's demands on the artifact: a pinned sha256 and a signature by a configured public key, in both
formats cosign writes (a Sigstore bundle, a base64 `.sig`), signed here with locally generated key pairs."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from model.core.errors import ConfigError
from model.core.signing import ArtifactPolicy, SignatureError

DATA = b"the artifact's bytes"


def public_pem(private: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey, path: Path) -> Path:
    path.write_bytes(
        private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return path


def sign(private: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey, data: bytes) -> bytes:
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return private.sign(data, ec.ECDSA(hashes.SHA256()))  # what cosign's ECDSA P-256 keys produce
    return private.sign(data)


def write_bundle(artifact: Path, signature: bytes, signed: bytes) -> None:
    """The `messageSignature` of a Sigstore bundle (`cosign sign-blob --key ... --bundle`), real shape."""
    bundle = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {"hint": "test"}, "tlogEntries": []},
        "messageSignature": {
            "messageDigest": {
                "algorithm": "SHA2_256",
                "digest": base64.b64encode(hashlib.sha256(signed).digest()).decode(),
            },
            "signature": base64.b64encode(signature).decode(),
        },
    }
    artifact.with_name(artifact.name + ".sigstore.json").write_text(json.dumps(bundle))


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    path = tmp_path / "model.skops"
    path.write_bytes(DATA)
    return path


def policy_for(key: Path, **env: str) -> ArtifactPolicy:
    return ArtifactPolicy.from_env({"MODEL_SIGNING_KEY": str(key), **env})


def check(policy: ArtifactPolicy, artifact: Path) -> None:
    data = artifact.read_bytes()
    policy.check(data, hashlib.sha256(data).hexdigest(), artifact)


@pytest.mark.parametrize("kind", ["ecdsa-p256", "ed25519"])
def test_a_good_signature_verifies_and_a_tampered_artifact_does_not(artifact: Path, tmp_path: Path, kind: str) -> None:
    private = ec.generate_private_key(ec.SECP256R1()) if kind == "ecdsa-p256" else ed25519.Ed25519PrivateKey.generate()
    policy = policy_for(public_pem(private, tmp_path / "cosign.pub"))
    artifact.with_name("model.skops.sig").write_bytes(base64.b64encode(sign(private, DATA)) + b"\n")
    check(policy, artifact)
    artifact.write_bytes(DATA + b" and a payload")
    with pytest.raises(SignatureError, match="does not verify"):
        check(policy, artifact)


def test_the_bundle_format_is_read_and_must_sign_this_artifact(artifact: Path, tmp_path: Path) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    policy = policy_for(public_pem(private, tmp_path / "cosign.pub"))
    write_bundle(artifact, sign(private, DATA), DATA)
    check(policy, artifact)
    tampered = DATA + b"!"
    artifact.write_bytes(tampered)
    with pytest.raises(SignatureError, match="signs another artifact"):
        check(policy, artifact)
    write_bundle(artifact, sign(private, DATA), tampered)  # the digest re-written to match, the signature not
    with pytest.raises(SignatureError, match="does not verify"):
        check(policy, artifact)


def test_another_key_and_a_missing_signature_are_refused(artifact: Path, tmp_path: Path) -> None:
    signer, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    policy = policy_for(public_pem(other, tmp_path / "other.pub"))
    with pytest.raises(SignatureError, match="no signature"):
        check(policy, artifact)
    artifact.with_name("model.skops.sig").write_bytes(base64.b64encode(sign(signer, DATA)))
    with pytest.raises(SignatureError, match="does not verify"):
        check(policy, artifact)
    artifact.with_name("model.skops.sig").write_bytes(b"not base64 !!")
    with pytest.raises(SignatureError, match="not a base64 signature"):
        check(policy, artifact)


def test_a_pinned_sha256_must_match(artifact: Path) -> None:
    actual = hashlib.sha256(DATA).hexdigest()
    check(ArtifactPolicy.from_env({"MODEL_SHA256": actual.upper()}), artifact)
    with pytest.raises(SignatureError, match="the deployment pins"):
        check(ArtifactPolicy.from_env({"MODEL_SHA256": "0" * 64}), artifact)


def test_malformed_settings_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MODEL_SHA256='abc': must be 64 hexadecimal digits"):
        ArtifactPolicy.from_env({"MODEL_SHA256": "abc"})
    with pytest.raises(ConfigError, match=r"MODEL_SIGNING_KEY=.*cannot read"):
        ArtifactPolicy.from_env({"MODEL_SIGNING_KEY": str(tmp_path / "absent.pub")})
    (tmp_path / "junk.pub").write_text("not a key")
    with pytest.raises(ConfigError, match="not a PEM public key"):
        ArtifactPolicy.from_env({"MODEL_SIGNING_KEY": str(tmp_path / "junk.pub")})
    assert not ArtifactPolicy.from_env({}).enabled
