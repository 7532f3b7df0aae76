terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  # Partial configuration: `make terraform-init ENV=platform` passes bucket, key and region
  # (from backend.hcl or TF_STATE_BUCKET/TF_STATE_REGION). See docs/terraform.md, "Remote state".
  backend "s3" {}
}
