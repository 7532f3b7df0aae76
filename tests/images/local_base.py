"""The local stand-in for the Dockerfiles' public base: Debian bookworm with Python 3.11, made with debootstrap.

No container registry is reachable here, so `python:3.11-slim-bookworm@sha256:...` cannot be pulled; the image
tests build the real Dockerfiles with `--build-arg PYTHON_IMAGE=<this image>` instead. The base is cached in the
engine's image store under a tag keyed by its recipe (suite, packages, the CA bundle's hash), so a second build
on the same machine costs nothing; delete the tag to rebuild.

The system CA bundle is copied in from this machine's trust store (Debian's ca-certificates) when the base is
made, with PIP_CERT/SSL_CERT_FILE pointing at it, so pip inside a build trusts whatever the host trusts. No
mirror, host or path of this machine is written anywhere: debootstrap uses apt's own configured mirror.

    .venv/bin/python -m tests.images.local_base    # prints the image reference (builds it if missing)
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUITE = "bookworm"
VARIANT = "minbase"
#: Without the three *-whl/distutils packages python3.11-venv fails to configure in a minbase system.
PACKAGES = (
    "python3.11",
    "python3.11-venv",
    "python3-distutils",
    "python3-pip-whl",
    "python3-setuptools-whl",
    "python-is-python3",
    "ca-certificates",
)
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
#: Removed after debootstrap: package caches and lists nothing in the image reads.
PRUNED = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/locale")
REPOSITORY = "localhost/lighthouse-base"
LOCK = Path(__file__).resolve().parents[2] / ".tools" / "images" / "base.lock"


def recipe_key() -> str:
    recipe = {"suite": SUITE, "variant": VARIANT, "packages": PACKAGES, "pruned": PRUNED, "version": 1}
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode())
    digest.update(CA_BUNDLE.read_bytes() if CA_BUNDLE.exists() else b"")
    return digest.hexdigest()[:12]


def image_ref() -> str:
    return f"{REPOSITORY}:{SUITE}-{recipe_key()}"


def apt_mirror() -> str | None:
    """The mirror apt is configured with for the main suite (deb822 or one-line sources), else debootstrap's."""
    sources = sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    for path in sources:
        for block in path.read_text(encoding="utf-8").split("\n\n"):
            fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.+)$", block, re.MULTILINE))
            if SUITE in fields.get("Suites", "").split() and "deb" in fields.get("Types", "").split():
                return fields["URIs"].split()[0]
    one_line = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]
    for path in one_line:
        if path.exists():
            match = re.search(rf"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+{SUITE}\s", path.read_text(), re.MULTILINE)
            if match:
                return match.group(1)
    return None


def exists(engine_cli: str, ref: str) -> bool:
    return subprocess.run([engine_cli, "image", "inspect", ref], capture_output=True).returncode == 0


def build(engine_cli: str = "podman") -> str:
    """The base image's reference, building it first when the engine does not hold it yet."""
    ref = image_ref()
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time; the others then find it
        if exists(engine_cli, ref):
            return ref
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="lighthouse-base-", dir="/var/tmp") as scratch:
            root = Path(scratch) / "root"
            cmd = ["debootstrap", f"--variant={VARIANT}", f"--include={','.join(PACKAGES)}", SUITE, str(root)]
            mirror = apt_mirror()
            result = subprocess.run([*cmd, *([mirror] if mirror else [])], capture_output=True, text=True)
            if result.returncode != 0:
                raise RuntimeError(f"debootstrap failed ({result.returncode}):\n{result.stdout[-3000:]}{result.stderr}")
            for relative in PRUNED:
                shutil.rmtree(root / relative, ignore_errors=True)
                (root / relative).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(CA_BUNDLE, root / CA_BUNDLE.relative_to("/"))
            changes = [f"ENV {name}={CA_BUNDLE}" for name in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")] + [
                "ENV LANG=C.UTF-8",
                'CMD ["python3"]',
            ]
            tar = subprocess.Popen(["tar", "--numeric-owner", "-C", str(root), "-cf", "-", "."], stdout=subprocess.PIPE)
            imported = subprocess.run(
                [engine_cli, "import", *(f"--change={c}" for c in changes), "-", ref],
                stdin=tar.stdout,
                capture_output=True,
                text=True,
            )
            tar.wait()
            if imported.returncode != 0 or tar.returncode != 0:
                raise RuntimeError(f"{engine_cli} import failed:\n{imported.stderr}")
        print(f"local base {ref} built in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return ref


if __name__ == "__main__":
    print(build())
