# A function from a container image (a project's Dockerfile, after `lambda-ack build --image`),
# pushed to ECR:
#   terraform init
#   terraform apply -var image_uri=123456789012.dkr.ecr.us-east-1.amazonaws.com/my-bot:1 \
#       -var slack_signing_secret=...
terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 7"
    }
  }
}

provider "aws" {
  region = var.region
}

module "bot" {
  source = "../.."

  name                 = var.name
  image_uri            = var.image_uri
  handler              = "app.handler" # the image's CMD
  architecture         = var.architecture
  slack_signing_secret = var.slack_signing_secret

  # SnapStart: each change publishes a version; cold starts restore its snapshot.
  publish    = var.snap_start
  snap_start = var.snap_start
}

variable "snap_start" {
  type    = bool
  default = true
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "name" {
  type    = string
  default = "my-bot"
}

variable "image_uri" {
  type = string
}

variable "architecture" {
  type    = string
  default = "x86_64"
}

variable "slack_signing_secret" {
  type      = string
  sensitive = true
}

output "slack_request_url" {
  value = module.bot.function_url
}
