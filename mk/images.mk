# The serving and training images, built and run for real: buildah + podman on a local Debian base here (no
# registry is reachable), docker with the Dockerfiles' digest-pinned base on GitHub's runners (docs/scaling.md).

TRAIN_IMAGE ?= mlops-lighthouse-train:dev
TRAIN_REQUIREMENTS := requirements/train.txt

$(TRAIN_REQUIREMENTS): pyproject.toml uv.lock
	$(UV) export --frozen --no-default-groups --group pipeline --group ci --group s3 --no-emit-project --format requirements-txt -o $@ --quiet

.PHONY: train-requirements
train-requirements: $(TRAIN_REQUIREMENTS) ## Re-export the training image's requirements from uv.lock

.PHONY: image-base
image-base: setup ## Make (or find, cached by recipe) the local debootstrap base that podman builds use here
	$(PY) -m tests.images.local_base

# LIGHTHOUSE_IMAGE_ENGINE=podman|docker picks the engine (default: podman when buildah and podman are on PATH).
.PHONY: image-test
image-test: setup ## Build both images and test them running, with the PostgreSQL/S3/MLflow training integration
	$(PY) -m pytest tests/images $(PYTEST_ARGS)

.PHONY: image-train
image-train: setup ## Build the training image (needs Docker), labelled with the commit it holds
	docker build -f Dockerfile.train --build-arg GIT_SHA="$$(git rev-parse HEAD)" -t $(TRAIN_IMAGE) .

# After a cluster training run (train-cluster.yml): its outputs come back from the DVC remote's run cache, nothing
# is recomputed, and `make gates report` judge them. `register` is left out: the job registered the version.
# The committed dvc.lock is set aside, as in the job: DVC consults the run cache only for stages the lock does not
# describe, and the outputs it names may never have been pushed. The dvc.lock written here is the job's.
.PHONY: cluster-results
cluster-results: init ## Restore a training job's outputs from DVC_REMOTE_URL (run cache), for the gates
	@test -n "$${DVC_REMOTE_URL:-}" || { echo "cluster-results: set DVC_REMOTE_URL" >&2; exit 2; }
	$(DVC) remote add --local --force --default ci "$$DVC_REMOTE_URL"
	rm -f dvc.lock
	$(DVC) pull --run-cache
	$(DVC) repro --pull report monitor_reference

.PHONY: bench-scaling
bench-scaling: setup ## Cold pipeline at 1M/5M/10M resampled rows: time and peak RSS per stage (docs/scaling.md)
	$(PY) -m benchmarks.scaling
