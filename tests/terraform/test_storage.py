"""Every platform bucket is private, versioned, encrypted, TLS-only and has lifecycle rules."""

from __future__ import annotations

import pytest

from tests.terraform.hcl import TERRAFORM_DIR, Module, load_module, tf_files

BUCKET_MODULE = TERRAFORM_DIR / "modules" / "secure-bucket"
PLATFORM = TERRAFORM_DIR / "modules" / "aws-platform"


@pytest.fixture(scope="module")
def bucket() -> Module:
    return load_module(BUCKET_MODULE)


def test_buckets_are_only_created_by_the_secure_bucket_module() -> None:
    for path in tf_files():
        if "secure-bucket" not in path.parts:
            assert 'resource "aws_s3_bucket"' not in path.read_text(encoding="utf-8"), path


def test_platform_buckets_use_the_module_and_a_kms_key() -> None:
    platform = load_module(PLATFORM)
    buckets = {n: c for n, c in platform.modules.items() if c["source"] == "../secure-bucket"}
    assert set(buckets) == {"access_logs", "dvc_remote", "mlflow_artifacts"}
    for name in ["dvc_remote", "mlflow_artifacts"]:
        assert buckets[name]["kms_key_arn"] == "${aws_kms_key.platform.arn}", name
        assert buckets[name]["access_log_bucket"] == "${module.access_logs.id}", name
    assert platform.resource("aws_kms_key", "platform")["enable_key_rotation"] is True


def test_public_access_is_blocked_and_acls_are_off(bucket: Module) -> None:
    block = bucket.resource("aws_s3_bucket_public_access_block", "this")
    for setting in [
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ]:
        assert block[setting] is True, setting
    ownership = bucket.resource("aws_s3_bucket_ownership_controls", "this")
    assert ownership["rule"][0]["object_ownership"] == "BucketOwnerEnforced"


def test_versioning_and_encryption_are_on(bucket: Module) -> None:
    versioning = bucket.resource("aws_s3_bucket_versioning", "this")
    assert versioning["versioning_configuration"][0]["status"] == "Enabled"
    sse = bucket.resource("aws_s3_bucket_server_side_encryption_configuration", "this")
    default = sse["rule"][0]["apply_server_side_encryption_by_default"][0]
    assert "aws:kms" in default["sse_algorithm"]
    # SSE-S3 is allowed for the access-log bucket only, and a precondition enforces it.
    preconditions = bucket.resource("aws_s3_bucket", "this")["lifecycle"][0]["precondition"]
    assert any("var.kms_key_arn != null || local.is_log_bucket" in p["condition"] for p in preconditions)


def test_lifecycle_rules_expire_old_versions_and_abort_uploads(bucket: Module) -> None:
    rules = {r["id"]: r for r in bucket.resource("aws_s3_bucket_lifecycle_configuration", "this")["rule"]}
    retention = rules["retention"]
    assert retention["status"] == "Enabled"
    assert retention["abort_incomplete_multipart_upload"][0]["days_after_initiation"] == 7
    noncurrent = retention["noncurrent_version_expiration"][0]["noncurrent_days"]
    assert noncurrent == "${var.noncurrent_version_expiration_days}"
    assert "infrequent-access" in rules


def test_bucket_policy_denies_plain_http_and_old_tls(bucket: Module) -> None:
    statements = {s["sid"]: s for s in bucket.data[("aws_iam_policy_document", "bucket")]["statement"]}
    insecure = statements["DenyInsecureTransport"]
    assert insecure["effect"] == "Deny"
    assert insecure["condition"][0] == {
        "test": "Bool",
        "variable": "aws:SecureTransport",
        "values": ["false"],
    }
    assert statements["DenyOutdatedTls"]["condition"][0]["variable"] == "s3:TlsVersion"


def test_no_role_policy_grants_delete_or_wildcard_actions() -> None:
    platform = load_module(PLATFORM)
    for name in ["pr", "main", "production"]:
        for statement in platform.data[("aws_iam_policy_document", name)].get("statement", []):
            for action in statement["actions"]:
                assert "*" not in action, f"{name}: {action}"
                assert "Delete" not in action, f"{name}: {action}"
