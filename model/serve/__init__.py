"""The model server: HTTP + JSON in front of the pipeline's artifact, validated by the data contract.

Importing this package is cheap on purpose (the container HEALTHCHECK imports `model.serve.healthcheck`); the
heavy parts live in the submodules. `docs/serving-interface.md` is the contract this package implements.
"""

import time

#: When this process started serving work (the package is imported first); the `ready` log line reports the
#: seconds from here to ready.
STARTED_AT = time.monotonic()
