# Copy to terraform.tfvars and adjust. Apply as a repository admin: GITHUB_TOKEN=$(gh auth token) make terraform-apply ENV=repository
github_owner      = "your-org"
github_repository = "mlops-lighthouse"

# At least one reviewer who is not the person deploying (prevent_self_review is on).
production_reviewer_users = ["a-maintainer"]
# production_reviewer_teams = ["ml-release-approvers"]
production_wait_timer_minutes = 0

# Must equal the check-run names of the PR workflow's jobs (each job's `name:`).
required_status_checks = ["pr / checks"]
required_approvals     = 1

# The GitHub App that pushes promotion commits past the ruleset (docs/gitops.md, "First fork"): its ID here, its
# private key as the environment secret PROMOTION_APP_PRIVATE_KEY of staging and production.
# promotion_app_id = 123456

# Read the platform root's outputs (role ARNs, bucket URLs) from its state and publish them as Actions variables.
platform_state = {
  bucket = "your-terraform-state-bucket"
  region = "eu-west-1"
}
