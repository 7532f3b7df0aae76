"""One interface over two container engines, so the same image tests run here and on GitHub's runners.

- podman (here): images are built with buildah (`--isolation chroot --format docker`: crun refuses this machine's
  hybrid cgroups, and buildah's OCI format would drop HEALTHCHECK) from a local Debian base (no registry is
  reachable), and run with `--runtime runc`.
- docker (GitHub's runners): `docker build` from the Dockerfile's digest-pinned public base, `docker run`.

`LIGHTHOUSE_IMAGE_ENGINE=podman|docker` picks one; by default podman when buildah and podman are both on PATH,
else docker. Every container runs on the host network on a port the test chose (never a fixed one).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REQUIRE_TOOLS_VAR

ENGINE_VAR = "LIGHTHOUSE_IMAGE_ENGINE"
#: The limits the container tests run under, as a cluster would impose them.
ULIMITS = ("nofile=1024:1024", "nproc=1000:1000")
BUILD_TIMEOUT = 1800


class EngineError(AssertionError):
    """A container command failed; the message holds its output."""


def _run(cmd: Sequence[str], timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        output = f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        raise EngineError(f"{' '.join(cmd)} exited {result.returncode}:\n{output}")
    return result


@dataclass(frozen=True)
class Engine:
    name: str  # "podman" or "docker"
    cli: str  # the run/inspect CLI
    builder: str  # buildah for podman, docker for docker

    # ---- images -------------------------------------------------------------------------------------------------
    def build(
        self,
        context: Path,
        tag: str,
        dockerfile: str = "Dockerfile",
        build_args: dict[str, str] | None = None,
        base_image: str | None = None,
    ) -> str:
        """Build `context/dockerfile` as `tag`; `base_image` overrides the PYTHON_IMAGE build argument."""
        args = dict(build_args or {})
        if base_image:
            args["PYTHON_IMAGE"] = base_image
        arg_flags = [flag for key, value in args.items() for flag in ("--build-arg", f"{key}={value}")]
        ignorefile = context / f"{dockerfile}.dockerignore"
        if self.name == "podman":
            # buildah reads only .dockerignore by itself; docker also reads <Dockerfile>.dockerignore.
            ignore = ["--ignorefile", str(ignorefile)] if ignorefile.exists() else []
            cmd = [self.builder, "bud", "--isolation", "chroot", "--format", "docker", "--network", "host"]
            cmd += ["--layers", *ignore, *arg_flags, "-f", str(context / dockerfile), "-t", tag, str(context)]
        else:
            cmd = [self.builder, "build", *arg_flags, "-f", str(context / dockerfile), "-t", tag, str(context)]
        _run(cmd, timeout=BUILD_TIMEOUT)
        return tag

    def inspect_image(self, image: str) -> dict[str, Any]:
        data: list[dict[str, Any]] = json.loads(_run([self.cli, "image", "inspect", image]).stdout)
        return data[0]

    def image_healthcheck(self, image: str) -> dict[str, Any]:
        """The image's HEALTHCHECK (docker keeps it under Config, podman beside it)."""
        data = self.inspect_image(image)
        found: dict[str, Any] = data["Config"].get("Healthcheck") or data.get("Healthcheck") or {}
        return found

    def image_size(self, image: str) -> int:
        return int(self.inspect_image(image)["Size"])

    def image_exists(self, image: str) -> bool:
        return _run([self.cli, "image", "inspect", image], check=False).returncode == 0

    # ---- containers ---------------------------------------------------------------------------------------------
    def run_flags(self) -> list[str]:
        flags = ["--network", "host", *(f"--ulimit={u}" for u in ULIMITS)]
        return ["--runtime", "runc", *flags] if self.name == "podman" else flags

    def start(self, image: str, env: dict[str, str], *, read_only: bool = True, args: Sequence[str] = ()) -> str:
        """Start a detached container; return its id."""
        flags = [*self.run_flags(), *(["--read-only", "--tmpfs", "/tmp"] if read_only else [])]
        flags += [flag for key, value in env.items() for flag in ("-e", f"{key}={value}")]
        return _run([self.cli, "run", "--detach", *flags, image, *args]).stdout.strip()

    def run(
        self,
        image: str,
        env: dict[str, str],
        *,
        args: Sequence[str] = (),
        entrypoint: str | None = None,
        read_only: bool = True,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        """Run a container to its end (removed afterwards); return its exit code and output, never raising."""
        flags = [*self.run_flags(), "--rm", *(["--read-only", "--tmpfs", "/tmp"] if read_only else [])]
        flags += [flag for key, value in env.items() for flag in ("-e", f"{key}={value}")]
        flags += ["--entrypoint", entrypoint] if entrypoint else []
        return _run([self.cli, "run", *flags, image, *args], timeout=timeout, check=False)

    def exec(self, container: str, *cmd: str) -> subprocess.CompletedProcess[str]:
        return _run([self.cli, "exec", container, *cmd], check=False)

    def logs(self, container: str) -> str:
        result = _run([self.cli, "logs", container], check=False)
        return result.stdout + result.stderr

    def healthcheck(self, container: str) -> bool:
        """Run the image's HEALTHCHECK once (podman), or read docker's own verdict; True when healthy."""
        if self.name == "podman":
            return _run([self.cli, "healthcheck", "run", container], check=False).returncode == 0
        state = self.inspect_container(container)["State"]
        return bool(state.get("Health", {}).get("Status") == "healthy")

    def wait_healthy(self, container: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.healthcheck(container):
                return
            if not self.inspect_container(container)["State"]["Running"]:
                raise EngineError(f"container exited:\n{self.logs(container)[-4000:]}")
            time.sleep(1)
        raise EngineError(f"container not healthy after {timeout} s:\n{self.logs(container)[-4000:]}")

    def inspect_container(self, container: str) -> dict[str, Any]:
        data: list[dict[str, Any]] = json.loads(_run([self.cli, "container", "inspect", container]).stdout)
        return data[0]

    def stop(self, container: str, grace_seconds: int = 30) -> int:
        """SIGTERM (the image's STOPSIGNAL), SIGKILL after the grace period; return the exit code."""
        _run([self.cli, "stop", "--time", str(grace_seconds), container], timeout=grace_seconds + 60)
        return int(self.inspect_container(container)["State"]["ExitCode"])

    def remove(self, container: str) -> None:
        _run([self.cli, "rm", "--force", container], check=False)


def detect() -> Engine | None:
    wanted = os.environ.get(ENGINE_VAR, "")
    if wanted in ("", "podman") and shutil.which("podman") and shutil.which("buildah"):
        return Engine("podman", "podman", "buildah")
    if wanted in ("", "docker") and shutil.which("docker"):
        return Engine("docker", "docker", "docker")
    return None


def require_engine() -> Engine:
    """The engine to test with; skip (fail under LIGHTHOUSE_REQUIRE_TOOLS=1) when there is none."""
    engine = detect()
    if engine is not None:
        return engine
    wanted = os.environ.get(ENGINE_VAR) or "buildah + podman, or docker"
    reason = f"no container engine ({wanted}) on PATH"
    if os.environ.get(REQUIRE_TOOLS_VAR) == "1":
        pytest.fail(f"{reason} and {REQUIRE_TOOLS_VAR}=1 requires one")
    pytest.skip(reason)
