# Copy to terraform.tfvars (committed: nothing here is secret) and adjust.
# In CI the owner and repository come from the run (TF_VAR_github_owner / TF_VAR_github_repository).
aws_region        = "eu-west-1"
name_prefix       = "lighthouse"
github_owner      = "your-org"
github_repository = "mlops-lighthouse"

# The account already has a GitHub OIDC provider? Then:
# create_oidc_provider = false

# Optional MLflow backend store:
# database = {
#   enabled                    = true
#   vpc_id                     = "vpc-0123456789abcdef0"
#   subnet_ids                 = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
#   allowed_security_group_ids = ["sg-0123456789abcdef0"] # the cluster nodes' group
# }
