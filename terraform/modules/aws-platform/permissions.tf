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

# What `terraform plan` of this configuration reads, and nothing else: the configuration of the platform's own
# resources (found by their name prefix), never their contents. No s3:GetObject on the data buckets, no
# secretsmanager:GetSecretValue, no kms:Decrypt, no write of any kind.
locals {
  own_buckets = "arn:${local.partition}:s3:::${local.bucket_prefix}-*"
  own_roles   = "arn:${local.partition}:iam::${local.account_id}:role/${var.name_prefix}-*"
  state_objects = var.terraform_state_bucket == null ? [] : [
    "arn:${local.partition}:s3:::${var.terraform_state_bucket}/lighthouse/*",
  ]
}

data "aws_iam_policy_document" "terraform_plan" {
  statement {
    sid       = "WhoAmI"
    actions   = ["sts:GetCallerIdentity"]
    resources = ["*"] # GetCallerIdentity takes no resource
  }

  statement {
    sid       = "ReadOidcProvider"
    actions   = ["iam:GetOpenIDConnectProvider"]
    resources = [local.oidc_provider_arn]
  }

  statement {
    sid = "ReadBucketSettings"
    actions = [
      "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketLocation", "s3:GetBucketLogging",
      "s3:GetBucketObjectLockConfiguration", "s3:GetBucketOwnershipControls", "s3:GetBucketPolicy",
      "s3:GetBucketPublicAccessBlock", "s3:GetBucketRequestPayment", "s3:GetBucketTagging",
      "s3:GetBucketVersioning", "s3:GetBucketWebsite", "s3:GetEncryptionConfiguration",
      "s3:GetLifecycleConfiguration", "s3:GetReplicationConfiguration", "s3:GetAccelerateConfiguration",
      "s3:GetBucketNotification", "s3:GetIntelligentTieringConfiguration", "s3:ListBucket",
    ]
    resources = [local.own_buckets]
  }

  statement {
    sid       = "ReadKey"
    actions   = ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"]
    resources = [aws_kms_key.platform.arn]
  }

  statement {
    sid       = "ListAliases"
    actions   = ["kms:ListAliases"]
    resources = ["*"] # ListAliases has no resource-level permission
  }

  statement {
    sid       = "ReadRoles"
    actions   = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListRoleTags"]
    resources = [local.own_roles]
  }

  dynamic "statement" {
    for_each = var.create_image_repository ? [1] : []
    content {
      sid       = "ReadRegistrySettings"
      actions   = ["ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:ListTagsForResource", "ecr:GetRepositoryPolicy"]
      resources = local.image_repo_arns
    }
  }

  dynamic "statement" {
    for_each = var.database.enabled ? [1] : []
    content {
      sid = "ReadDatabaseSettings"
      actions = [
        "rds:DescribeDBInstances", "rds:DescribeDBSubnetGroups", "rds:DescribeDBParameterGroups",
        "rds:DescribeDBParameters", "rds:ListTagsForResource", "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules", "ec2:DescribeVpcs", "ec2:DescribeSubnets",
      ]
      resources = ["*"] # the Describe calls of RDS and EC2 take no resource-level permission
    }
  }

  dynamic "statement" {
    for_each = var.terraform_state_bucket == null ? [] : [1]
    content {
      sid       = "ReadState"
      actions   = ["s3:GetObject"]
      resources = local.state_objects
    }
  }

  dynamic "statement" {
    for_each = var.terraform_state_bucket == null ? [] : [1]
    content {
      sid       = "ListState"
      actions   = ["s3:ListBucket"]
      resources = ["arn:${local.partition}:s3:::${var.terraform_state_bucket}"]
    }
  }
}
