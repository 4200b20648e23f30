terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40.0, < 7.0.0"
    }
  }

  # Keep state remote and locked in a real deployment, e.g.:
  # backend "s3" {
  #   bucket       = "my-terraform-state"
  #   key          = "sluice/example.tfstate"
  #   region       = "us-east-1"
  #   encrypt      = true
  #   use_lockfile = true
  # }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ application = "sluice", deployment = var.name }, var.tags)
  }
}
