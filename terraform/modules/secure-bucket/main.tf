# One private bucket with every guard rail on: no ACLs, no public access, versioning, default encryption,
# TLS-only access, access logging and lifecycle rules. The platform composes its buckets from this module so a
# guard rail cannot be forgotten on one of them.

locals {
  is_log_bucket = length(var.accept_access_logs_from) > 0
}

resource "aws_s3_bucket" "this" {
  # checkov:skip=CKV2_AWS_62:Nothing consumes bucket events: DVC and MLflow read on demand. Add a notification where a consumer exists.
  # checkov:skip=CKV_AWS_144:Single region by design: versioning plus noncurrent-version retention recover overwrites and deletes; replication doubles storage and needs a second region. Add aws_s3_bucket_replication_configuration where your recovery objective needs it.
  bucket        = var.name
  force_destroy = var.force_destroy
  tags          = var.tags

  lifecycle {
    precondition {
      condition     = var.kms_key_arn != null || local.is_log_bucket
      error_message = "Bucket ${var.name}: kms_key_arn is required; only an access-log bucket may use SSE-S3."
    }
    precondition {
      condition     = var.access_log_bucket != null || local.is_log_bucket
      error_message = "Bucket ${var.name}: access_log_bucket is required; only the access-log bucket itself has none."
    }
  }
}

# Bucket owner owns every object: ACLs are disabled, so access is decided by policies alone.
resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# Versioning makes every overwrite of data, a model or a release record recoverable.
resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  # Versioning must be on before noncurrent-version rules mean anything.
  depends_on = [aws_s3_bucket_versioning.this]

  # One rule per action type: S3 rejects two rules over the same objects with the same action type.
  rule {
    id     = "retention"
    status = "Enabled"
    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    # Either current objects expire (logs), or only the delete markers left once all versions are gone.
    expiration {
      days                         = var.current_version_expiration_days
      expired_object_delete_marker = var.current_version_expiration_days == null ? true : null
    }
  }

  # Stays in place but disabled when unset (no dynamic block, so scanners read every rule).
  rule {
    id     = "infrequent-access"
    status = var.infrequent_access_after_days == null ? "Disabled" : "Enabled"
    filter {}

    transition {
      days          = coalesce(var.infrequent_access_after_days, 30)
      storage_class = "STANDARD_IA"
    }
  }
}

resource "aws_s3_bucket_logging" "this" {
  count = var.access_log_bucket == null ? 0 : 1

  bucket        = aws_s3_bucket.this.id
  target_bucket = var.access_log_bucket
  target_prefix = "${var.name}/"
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "DenyOutdatedTls"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }

  # A log bucket lets the S3 logging service write, and only for the named source buckets of this account.
  dynamic "statement" {
    for_each = local.is_log_bucket ? [1] : []
    content {
      sid       = "AllowServerAccessLogDelivery"
      effect    = "Allow"
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.this.arn}/*"]

      principals {
        type        = "Service"
        identifiers = ["logging.s3.amazonaws.com"]
      }

      condition {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = var.accept_access_logs_from
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [data.aws_caller_identity.current.account_id]
      }
    }
  }
}

data "aws_caller_identity" "current" {}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json

  # The public access block must exist first, or the policy could briefly be evaluated without it.
  depends_on = [aws_s3_bucket_public_access_block.this]
}
