"""`python -m model.serve.healthcheck`: the container HEALTHCHECK. Exit 0 when /readyz answers 200.

Standard library only, so the probe starts in milliseconds and never imports the model.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 2.0


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8080')}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
