"""A git server over smart HTTP for the bare repositories in a directory: `git http-backend`, git's own server,
behind the standard library's HTTP server. Argo CD in kind reads the repository at the commit under test from it,
and the promotions of the end-to-end run are pushed to it (nothing reaches the real repository).

    python -m ci.e2e.gitserver ROOT --host 0.0.0.0 --port 8418

Written by hand because only a CGI bridge is missing (http.server's CGI handler is deprecated); git does the rest.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def handler_for(root: Path) -> type[BaseHTTPRequestHandler]:
    class GitHandler(BaseHTTPRequestHandler):
        def _backend(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "GIT_HTTP_MAX_REQUEST_BUFFER": "100M",
                "REMOTE_USER": "e2e",  # receive-pack needs an authenticated-looking user (plus http.receivepack)
                "REQUEST_METHOD": self.command,
                "PATH_INFO": url.path,
                "QUERY_STRING": url.query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            }
            proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=False)
            head, _, payload = proc.stdout.partition(b"\r\n\r\n")
            status, headers = 200, []
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _backend  # noqa: N815  (http.server dispatches on these names)

        def log_message(self, *args: Any) -> None:
            pass

    return GitHandler


def serve(root: Path, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A server for the bare repositories under `root` (call serve_forever); port 0 asks the OS for one."""
    return ThreadingHTTPServer((host, port), handler_for(root.resolve()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ci.e2e.gitserver", description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="directory of bare repositories (each with http.receivepack true)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8418)
    args = parser.parse_args(argv)
    server = serve(args.root, args.host, args.port)
    print(f"gitserver: serving {args.root} on http://{args.host}:{server.server_address[1]}/", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
