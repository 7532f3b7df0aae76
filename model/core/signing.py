"""What a deployment may demand of the model artifact beyond its record: an exact sha256, and a signature.

Both are off unless configured, and both are checked on the artifact's bytes before anything parses them:

- `MODEL_SHA256`: the artifact must have this sha256 (the release record, or the overlay, can pin it);
- `MODEL_SIGNING_KEY`: a PEM public key (cosign's `cosign.pub`: ECDSA P-256; Ed25519 and RSA keys work too).
  The artifact must then carry a signature next to it, made with the private key:
  `model.skops.sigstore.json` (the Sigstore bundle `cosign sign-blob --key cosign.key --bundle` writes; its
  `messageSignature` is checked, the transparency-log entry is left to `cosign verify-blob`) or `model.skops.sig`
  (the base64 signature of `cosign sign-blob --key cosign.key --output-signature`).

Keyless signatures (cosign with the CI's OIDC identity, .github/workflows/main.yml) are verified with `cosign
verify-blob` against the workflow's identity; checking them here would need Sigstore's trust root in the image.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.core.errors import ConfigError, LighthouseError

#: Where the signature of `model.skops` is looked for, in this order.
BUNDLE_SUFFIX = ".sigstore.json"
SIGNATURE_SUFFIX = ".sig"
SHA256_ENV = "MODEL_SHA256"
KEY_ENV = "MODEL_SIGNING_KEY"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class SignatureError(LighthouseError):
    """The artifact is not the one the deployment pinned, or its signature is missing or does not verify."""


@dataclass(frozen=True)
class ArtifactPolicy:
    """The deployment's demands (none by default). Built from the environment with `from_env`."""

    expected_sha256: str | None = None
    public_key: Any = None  # a cryptography public key
    key_path: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ArtifactPolicy:
        """Read MODEL_SHA256 and MODEL_SIGNING_KEY; a ConfigError names the variable, the rule and the value."""
        expected = environ.get(SHA256_ENV, "").strip().lower() or None
        if expected is not None and not _SHA256.fullmatch(expected):
            raise ConfigError(f"{SHA256_ENV}={environ[SHA256_ENV]!r}: must be 64 hexadecimal digits")
        key_value = environ.get(KEY_ENV, "").strip()
        if not key_value:
            return cls(expected_sha256=expected)
        path = Path(key_value)
        return cls(expected_sha256=expected, public_key=load_public_key(path), key_path=path)

    @property
    def enabled(self) -> bool:
        return self.expected_sha256 is not None or self.public_key is not None

    def check(self, data: bytes, sha256: str, artifact_path: Path) -> None:
        """Raise SignatureError unless `data` (the artifact's bytes, hashing to `sha256`) meets the policy."""
        if self.expected_sha256 is not None and sha256 != self.expected_sha256:
            raise SignatureError(
                f"{artifact_path}: sha256 {sha256} is not the {self.expected_sha256} the deployment pins ({SHA256_ENV})"
            )
        if self.public_key is not None:
            signature, source = read_signature(artifact_path, sha256)
            if not verifies(self.public_key, signature, data):
                raise SignatureError(f"{source}: the signature does not verify with {self.key_path} ({KEY_ENV})")


def load_public_key(path: Path) -> Any:
    """A PEM public key; ConfigError when the file is missing or not a key."""
    try:
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
    except ImportError as exc:  # pragma: no cover - cryptography is in the serving set
        raise ConfigError(f"{KEY_ENV}: verifying signatures needs the `cryptography` package ({exc})") from exc
    try:
        return load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"{KEY_ENV}={str(path)!r}: cannot read the public key: {exc.strerror}") from exc
    except ValueError as exc:
        raise ConfigError(f"{KEY_ENV}={str(path)!r}: not a PEM public key ({exc})") from exc


def read_signature(artifact_path: Path, sha256: str) -> tuple[bytes, Path]:
    """The raw signature from the Sigstore bundle next to the artifact, else from its `.sig` file."""
    bundle = artifact_path.with_name(artifact_path.name + BUNDLE_SUFFIX)
    plain = artifact_path.with_name(artifact_path.name + SIGNATURE_SUFFIX)
    if bundle.exists():
        try:
            message = json.loads(bundle.read_text(encoding="utf-8"))["messageSignature"]
            digest = message["messageDigest"]
            signed = base64.b64decode(digest["digest"], validate=True).hex()
            signature = base64.b64decode(message["signature"], validate=True)
        except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise SignatureError(f"{bundle}: not a Sigstore bundle with a message signature ({exc!r})") from exc
        if digest.get("algorithm") != "SHA2_256" or signed != sha256:
            raise SignatureError(f"{bundle}: signs another artifact (sha256 {signed}, this one is {sha256})")
        return signature, bundle
    if plain.exists():
        try:
            return base64.b64decode(plain.read_bytes().strip(), validate=True), plain
        except binascii.Error as exc:
            raise SignatureError(f"{plain}: not a base64 signature ({exc})") from exc
    raise SignatureError(f"{artifact_path}: no signature ({bundle.name} or {plain.name}) while {KEY_ENV} requires one")


def verifies(public_key: Any, signature: bytes, data: bytes) -> bool:
    """Whether `signature` is `public_key`'s over `data` (ECDSA and RSA-PKCS1v15 with SHA-256, or Ed25519)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, data)
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise SignatureError(f"unsupported public key type {type(public_key).__name__} ({KEY_ENV})")
    except InvalidSignature:
        return False
    return True
