output "arn" {
  description = "Role ARN (the workflows' role-to-assume)."
  value       = aws_iam_role.this.arn
}

output "name" {
  description = "Role name."
  value       = aws_iam_role.this.name
}

output "subjects" {
  description = "The `sub` claims the role trusts."
  value       = var.subjects
}
