terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40.0, < 7.0.0"
      # aws.replica: the region of the audit bucket's cross-region replica
      # (docs/deploy.md); pass it even with audit_replication_enabled = false.
      configuration_aliases = [aws.replica]
    }
  }
}
