# The model server image: only the serving dependencies, the model the pipeline wrote, its contract, and what the
# drift monitor (k8s/components/monitor) needs besides: the reference profile and the thresholds in params.yaml.
# Build from the repository root after `make pipeline` (see `make image`):
#   docker build --build-arg GIT_SHA=... --build-arg MODEL_VERSION=... --build-arg DATA_HASH=... -t IMAGE .
# Runs as uid 10001 with a read-only root filesystem; only /tmp is written (see docs/serving-interface.md).

# Pinned by digest: a tag moves, a digest does not. Bump it deliberately (Renovate/Dependabot can propose it).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
# Exactly the locked serving set (requirements/serve.txt is exported from uv.lock), wheels only, hashes checked.
COPY requirements/serve.txt /tmp/serve.txt
# The packages' own test suites (about 40% of the bytes) are never imported: drop them.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-deps --require-hashes --only-binary=:all: -r /tmp/serve.txt \
    && find /opt/venv -depth -type d -name tests -exec rm -rf {} +
WORKDIR /app
COPY model/ model/
# The contract goes next to the model: the server checks its sha256 against the record before serving.
COPY models/ models/
COPY data/contract.yaml models/contract.yaml
# The drift monitor's CronJob runs this image: it reads models/reference.json (above) and the thresholds here.
COPY params.yaml params.yaml
# Byte-compile now: the root filesystem is read-only at run time.
RUN /opt/venv/bin/python -m compileall -q model \
    && MODEL_DIR=/app/models /opt/venv/bin/python -m model.serve --check

FROM ${PYTHON_IMAGE}
ARG GIT_SHA=unknown
ARG MODEL_VERSION=unknown
ARG DATA_HASH=unknown
LABEL org.opencontainers.image.title="mlops-lighthouse model server" \
      org.opencontainers.image.description="Serves the model trained by the pipeline, validated by its data contract" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.revision="${GIT_SHA}" \
      org.opencontainers.image.version="${MODEL_VERSION}" \
      io.mlops-lighthouse.model.version="${MODEL_VERSION}" \
      io.mlops-lighthouse.model.data-hash="${DATA_HASH}" \
      io.mlops-lighthouse.git-sha="${GIT_SHA}"
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    MODEL_DIR=/app/models \
    HOST=0.0.0.0 \
    PORT=8080
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-m", "model.serve.healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "model.serve"]
