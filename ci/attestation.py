"""Build-provenance attestations: whether CI makes them, and whether an image's one was signed by this repository.

    python -m ci.attestation decide --visibility public --setting auto      # in main.yml, before attesting
    python -m ci.attestation verify ghcr.io/o/r@sha256:<64 hex> --repo o/r  # what ci.promote runs for production

GitHub artifact attestations exist on public repositories and, for private ones, only with GitHub Enterprise
Cloud: elsewhere `actions/attest-build-provenance` fails the build. `decide` turns that into a visible notice
(repository variable LIGHTHOUSE_ATTESTATIONS: auto, true or false). `verify` runs `gh attestation verify` against
this repository's `main` workflow (`--signer-workflow`) and then checks its JSON verdict itself: the subject is the
digest, the signer is that workflow on that ref, the source is this repository. The decision lives here, in
Python, so it is tested on the JSON shape gh prints; gh does the cryptography.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from model.core.errors import LighthouseError

SLSA_PROVENANCE = "https://slsa.dev/provenance/v1"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
DEFAULT_WORKFLOW = ".github/workflows/main.yml"
DEFAULT_REF = "refs/heads/main"
SETTINGS = ("auto", "true", "false")
VERIFY_TIMEOUT_S = 180

Runner = Callable[[list[str]], subprocess.CompletedProcess[str]]


class AttestationError(LighthouseError):
    """The image has no provenance attestation from this repository's workflow, or it cannot be checked."""


@dataclass(frozen=True)
class Decision:
    enabled: bool
    reason: str


def decide(visibility: str, setting: str) -> Decision:
    """Whether this repository gets attestations: `true`/`false` force it, `auto` follows the visibility."""
    setting = (setting or "auto").strip().lower()
    if setting not in SETTINGS:
        raise AttestationError(f"LIGHTHOUSE_ATTESTATIONS: expected one of {', '.join(SETTINGS)}, got {setting!r}")
    if setting == "true":
        return Decision(True, "LIGHTHOUSE_ATTESTATIONS is true")
    if setting == "false":
        return Decision(False, "LIGHTHOUSE_ATTESTATIONS is false: no build-provenance attestation is made or checked")
    if visibility == "public":
        return Decision(True, "the repository is public")
    return Decision(
        False,
        f"the repository is {visibility or 'not public'}: GitHub artifact attestations need a public repository or "
        "GitHub Enterprise Cloud; set the repository variable LIGHTHOUSE_ATTESTATIONS=true if yours has them. "
        "The image still carries its SBOM and buildx provenance in the registry",
    )


@dataclass(frozen=True)
class Identity:
    """Who must have signed: this repository's workflow file on this ref."""

    repo: str
    workflow: str = DEFAULT_WORKFLOW
    ref: str = DEFAULT_REF
    server: str = "https://github.com"

    @property
    def signer_workflow(self) -> str:
        """`--signer-workflow` for gh: OWNER/REPO/PATH (gh matches it against the certificate's signer URI)."""
        return f"{self.repo}/{self.workflow}"

    @property
    def signer_uri(self) -> str:
        return f"{self.server}/{self.repo}/{self.workflow}@{self.ref}"


def command(image: str, identity: Identity) -> list[str]:
    """The `gh attestation verify` call: oci:// image, this repository, its main workflow, JSON out."""
    return [
        "gh", "attestation", "verify", f"oci://{image}",
        "--repo", identity.repo,
        "--signer-workflow", identity.signer_workflow,
        "--source-ref", identity.ref,
        "--predicate-type", SLSA_PROVENANCE,
        "--cert-oidc-issuer", GITHUB_ISSUER,
        "--deny-self-hosted-runners",
        "--format", "json",
    ]  # fmt: skip


def result_problems(results: Any, digest: str, identity: Identity) -> list[str]:
    """Why `gh attestation verify --format json` output does not prove `digest` came from `identity` (empty: it does).

    One result must hold all of: an SLSA provenance statement whose subject has the digest, a certificate issued
    to GitHub Actions, signed by the workflow at the ref, built from this repository on a GitHub-hosted runner.
    """
    if not isinstance(results, list) or not results:
        return ["gh returned no verified attestation"]
    hex_digest = digest.removeprefix("sha256:")
    reasons: list[str] = []
    for index, result in enumerate(results, 1):
        verified = result.get("verificationResult", {}) if isinstance(result, dict) else {}
        statement = verified.get("statement", {})
        certificate = verified.get("signature", {}).get("certificate", {})
        wrong = []
        if statement.get("predicateType") != SLSA_PROVENANCE:
            wrong.append(f"predicate {statement.get('predicateType')!r}")
        if not any(s.get("digest", {}).get("sha256") == hex_digest for s in statement.get("subject", [])):
            wrong.append(f"subjects {[s.get('digest', {}).get('sha256') for s in statement.get('subject', [])]}")
        expected = {
            "issuer": GITHUB_ISSUER,
            "buildSignerURI": identity.signer_uri,
            "sourceRepositoryURI": f"{identity.server}/{identity.repo}",
            "sourceRepositoryRef": identity.ref,
            "runnerEnvironment": "github-hosted",
        }
        wrong += [f"{k} {certificate.get(k)!r}" for k, v in expected.items() if certificate.get(k) != v]
        if not wrong:
            return []
        reasons.append(f"attestation {index}: {', '.join(wrong)}")
    return [f"no attestation was signed by {identity.signer_uri} for sha256:{hex_digest}", *reasons]


def verify(image: str, identity: Identity, run: Runner | None = None) -> None:
    """Raise AttestationError unless `image` (REPOSITORY@sha256:...) has provenance signed by `identity`."""
    digest = image.rpartition("@")[2]
    if not digest.startswith("sha256:"):
        raise AttestationError(f"{image}: verify an image pinned by digest")
    if run is None:
        if shutil.which("gh") is None:
            raise AttestationError("gh (the GitHub CLI) is not installed: cannot verify the image's attestation")
        run = _run
    proc = run(command(image, identity))
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise AttestationError(
            f"{image}: `gh attestation verify` found no attestation signed by {identity.signer_uri}: "
            f"{' / '.join(detail) or 'exit ' + str(proc.returncode)}"
        )
    try:
        results = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise AttestationError(f"`gh attestation verify` printed no JSON: {exc}") from exc
    problems = result_problems(results, digest, identity)
    if problems:
        raise AttestationError(f"{image}: " + "; ".join(problems))


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=VERIFY_TIMEOUT_S, check=False)


def _notice(decision: Decision) -> None:
    """A workflow notice and job summary line, so a skipped attestation is seen, not silent."""
    title = "Build provenance attestation" + ("" if decision.enabled else " skipped")
    print(f"::notice title={title}::{decision.reason}")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(f"### {title}\n\n{decision.reason}.\n")
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a", encoding="utf-8") as handle:
            handle.write(f"enabled={'true' if decision.enabled else 'false'}\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ci.attestation", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    decide_cmd = sub.add_parser("decide", help="whether to attest: step output enabled=true|false and a notice")
    decide_cmd.add_argument("--visibility", default="", help="public, private or internal (the event's repository)")
    decide_cmd.add_argument("--setting", default="auto", help="repository variable LIGHTHOUSE_ATTESTATIONS")
    verify_cmd = sub.add_parser("verify", help="verify an image's provenance attestation")
    verify_cmd.add_argument("image", help="REPOSITORY@sha256:<64 hex>")
    verify_cmd.add_argument("--repo", required=True, help="OWNER/REPO whose workflow must have signed")
    verify_cmd.add_argument("--workflow", default=DEFAULT_WORKFLOW, help=f"signer (default {DEFAULT_WORKFLOW})")
    verify_cmd.add_argument("--ref", default=DEFAULT_REF, help=f"ref it ran on (default {DEFAULT_REF})")
    args = parser.parse_args(argv)
    try:
        if args.command == "decide":
            _notice(decide(args.visibility, args.setting))
        else:
            verify(args.image, Identity(args.repo, args.workflow, args.ref))
            print(f"attestation: {args.image} was built and signed by {args.repo}/{args.workflow}@{args.ref}")
    except LighthouseError as exc:
        print(f"attestation: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
