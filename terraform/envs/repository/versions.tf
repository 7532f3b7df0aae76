terraform {
  required_version = ">= 1.10"

  required_providers {
    github = {
      source  = "integrations/github"
      version = "~> 6.8"
    }
  }

  # Partial configuration, like the platform root (key lighthouse/repository.tfstate).
  backend "s3" {}
}
