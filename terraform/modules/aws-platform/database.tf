# Optional PostgreSQL backend store for an MLflow tracking server in the cluster. Private, encrypted, backed up;
# the master password is generated and kept in Secrets Manager by RDS, so it never enters the terraform state.

locals {
  database_count = var.database.enabled ? 1 : 0
}

resource "aws_db_subnet_group" "mlflow" {
  count = local.database_count

  name        = "${var.name_prefix}-mlflow"
  description = "Private subnets of the MLflow backend store"
  subnet_ids  = var.database.subnet_ids
  tags        = var.tags
}

resource "aws_security_group" "mlflow_db" {
  count = local.database_count

  name        = "${var.name_prefix}-mlflow-db"
  description = "PostgreSQL of the MLflow backend store: reachable on 5432 from the listed sources only"
  vpc_id      = var.database.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "mlflow_db_from_groups" {
  for_each = toset(var.database.enabled ? var.database.allowed_security_group_ids : [])

  security_group_id            = aws_security_group.mlflow_db[0].id
  description                  = "PostgreSQL from an allowed security group"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = each.value
}

resource "aws_vpc_security_group_ingress_rule" "mlflow_db_from_cidrs" {
  for_each = toset(var.database.enabled ? var.database.allowed_cidr_blocks : [])

  security_group_id = aws_security_group.mlflow_db[0].id
  description       = "PostgreSQL from an allowed private network"
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = each.value
}

resource "aws_db_parameter_group" "mlflow" {
  count = local.database_count

  name        = "${var.name_prefix}-mlflow-postgres${split(".", var.database.engine_version)[0]}"
  family      = "postgres${split(".", var.database.engine_version)[0]}"
  description = "MLflow backend store: log slow statements and connections"
  tags        = var.tags

  # Clients must use TLS.
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  # Statements slower than 1 s are logged; logging every statement would copy run parameters into the logs.
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  parameter {
    name  = "log_connections"
    value = "1"
  }

  parameter {
    name  = "log_disconnections"
    value = "1"
  }
}

data "aws_iam_policy_document" "rds_monitoring_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "rds_monitoring" {
  count = local.database_count

  name               = "${var.name_prefix}-rds-monitoring"
  description        = "Lets RDS publish enhanced monitoring of the MLflow database"
  assume_role_policy = data.aws_iam_policy_document.rds_monitoring_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  count = local.database_count

  role       = aws_iam_role.rds_monitoring[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "mlflow" {
  count = local.database_count

  identifier     = "${var.name_prefix}-mlflow"
  engine         = "postgres"
  engine_version = var.database.engine_version
  instance_class = var.database.instance_class
  db_name        = "mlflow"
  username       = "mlflow"

  manage_master_user_password         = true
  master_user_secret_kms_key_id       = aws_kms_key.platform.arn
  iam_database_authentication_enabled = true

  allocated_storage     = var.database.allocated_storage_gb
  max_allocated_storage = var.database.max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.platform.arn

  db_subnet_group_name   = aws_db_subnet_group.mlflow[0].name
  vpc_security_group_ids = [aws_security_group.mlflow_db[0].id]
  publicly_accessible    = false
  multi_az               = var.database.multi_az
  parameter_group_name   = aws_db_parameter_group.mlflow[0].name

  backup_retention_period    = var.database.backup_retention_days
  copy_tags_to_snapshot      = true
  deletion_protection        = var.database.deletion_protection
  skip_final_snapshot        = false
  final_snapshot_identifier  = "${var.name_prefix}-mlflow-final"
  auto_minor_version_upgrade = true

  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.rds_monitoring[0].arn
  performance_insights_enabled          = var.database.performance_insights
  performance_insights_kms_key_id       = var.database.performance_insights ? aws_kms_key.platform.arn : null
  performance_insights_retention_period = var.database.performance_insights ? 7 : null

  tags = var.tags

  depends_on = [aws_iam_role_policy_attachment.rds_monitoring]
}
