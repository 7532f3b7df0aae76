# Encryption key, buckets and image registry of the platform. Identity lives in oidc.tf, the database in database.tf.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  # The account id makes bucket names globally unique without a random suffix, so names are predictable.
  bucket_prefix = "${var.name_prefix}-${local.account_id}"
}

# One customer-managed key encrypts buckets, images and the database; IAM policies decide who may use it.
resource "aws_kms_key" "platform" {
  description             = "${var.name_prefix}: DVC data, MLflow artifacts, images and database"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  tags                    = var.tags

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdministersKeyThroughIam"
      Effect    = "Allow"
      Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}

resource "aws_kms_alias" "platform" {
  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.platform.key_id
}

module "access_logs" {
  source = "../secure-bucket"

  name                               = "${local.bucket_prefix}-access-logs"
  accept_access_logs_from            = ["arn:${local.partition}:s3:::${local.bucket_prefix}-*"]
  current_version_expiration_days    = var.access_log_retention_days
  noncurrent_version_expiration_days = 30
  tags                               = var.tags
}

# The DVC remote: training data and pipeline outputs, addressed by content hash.
module "dvc_remote" {
  source = "../secure-bucket"

  name                               = "${local.bucket_prefix}-dvc"
  kms_key_arn                        = aws_kms_key.platform.arn
  access_log_bucket                  = module.access_logs.id
  noncurrent_version_expiration_days = var.data_version_retention_days
  infrequent_access_after_days       = var.artifact_infrequent_access_days
  tags                               = var.tags
}

# MLflow's artifact root: models, reports and the release records copied by promotions.
module "mlflow_artifacts" {
  source = "../secure-bucket"

  name                               = "${local.bucket_prefix}-mlflow"
  kms_key_arn                        = aws_kms_key.platform.arn
  access_log_bucket                  = module.access_logs.id
  noncurrent_version_expiration_days = var.data_version_retention_days
  infrequent_access_after_days       = var.artifact_infrequent_access_days
  tags                               = var.tags
}

resource "aws_ecr_repository" "model" {
  count = var.create_image_repository ? 1 : 0

  name = "${var.name_prefix}/model-server"
  # Overlays pin images by digest and a tag never moves, so what was reviewed is what runs.
  image_tag_mutability = "IMMUTABLE"
  tags                 = var.tags

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.platform.arn
  }
}

resource "aws_ecr_lifecycle_policy" "model" {
  count = var.create_image_repository ? 1 : 0

  repository = aws_ecr_repository.model[0].name
  # Only untagged layers left by failed pushes expire: a tagged image may be a rollback target.
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Expire untagged images after 14 days"
      selection = {
        tagStatus   = "untagged"
        countType   = "sinceImagePushed"
        countUnit   = "days"
        countNumber = 14
      }
      action = { type = "expire" }
    }]
  })
}
