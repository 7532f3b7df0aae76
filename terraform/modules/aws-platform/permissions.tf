# What each GitHub role may do once assumed. Object actions are scoped to the platform's buckets and key;
# nothing may delete (versioning keeps history, lifecycle rules expire it).

locals {
  data_buckets    = [module.dvc_remote.arn, module.mlflow_artifacts.arn]
  data_objects    = [for arn in local.data_buckets : "${arn}/*"]
  image_repo_arns = aws_ecr_repository.model[*].arn
  # Promotions copy the release record here: the production role writes nothing else.
  production_release_prefix = "releases/${var.production_environment}"
}

data "aws_iam_policy_document" "pr" {
  statement {
    sid       = "ListPlatformBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = local.data_buckets
  }

  statement {
    sid       = "ReadDataAndArtifacts"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = local.data_objects
  }

  statement {
    sid       = "DecryptWithPlatformKey"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = [aws_kms_key.platform.arn]
  }

  dynamic "statement" {
    for_each = var.create_image_repository ? [1] : []
    content {
      sid       = "PullModelImages"
      actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability", "ecr:DescribeImages"]
      resources = local.image_repo_arns
    }
  }

  dynamic "statement" {
    for_each = var.create_image_repository ? [1] : []
    content {
      sid       = "EcrLogin"
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"] # GetAuthorizationToken supports no resource-level permission.
    }
  }
}

data "aws_iam_policy_document" "main" {
  source_policy_documents = [data.aws_iam_policy_document.pr.json]

  statement {
    sid       = "WriteDataAndArtifacts"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = local.data_objects
  }

  statement {
    sid       = "EncryptWithPlatformKey"
    actions   = ["kms:GenerateDataKey", "kms:Encrypt"]
    resources = [aws_kms_key.platform.arn]
  }

  dynamic "statement" {
    for_each = var.create_image_repository ? [1] : []
    content {
      sid       = "PushModelImages"
      actions   = ["ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"]
      resources = local.image_repo_arns
    }
  }
}

data "aws_iam_policy_document" "production" {
  source_policy_documents = [data.aws_iam_policy_document.pr.json]

  statement {
    sid       = "WriteProductionReleaseRecords"
    actions   = ["s3:PutObject"]
    resources = ["${module.mlflow_artifacts.arn}/${local.production_release_prefix}/*"]
  }

  statement {
    sid       = "EncryptWithPlatformKey"
    actions   = ["kms:GenerateDataKey"]
    resources = [aws_kms_key.platform.arn]
  }
}
