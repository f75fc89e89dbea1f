# The repository's Slack example, deployed with the module:
#   ./build.sh --python-archive ARCHIVE --python-sha256 HEX   # dist/function.zip, dist/python-layer.zip
#   cd terraform/examples/slack-example
#   terraform init
#   terraform apply -var slack_signing_secret=... -var slack_bot_token=xoxb-...
# Optional: -var handoff=true -var handoff_key=... (durable work handed off to SQS; the zip then
# needs boto3: ./build.sh --requirements requirements-handoff.txt), -var dedupe=true.
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

module "slack" {
  source = "../.."

  name                 = var.name
  handler              = "handler_example/app.handler"
  function_zip         = "${path.module}/../../../dist/function.zip"
  python_layer_zip     = "${path.module}/../../../dist/python-layer.zip"
  architecture         = var.architecture
  slack_signing_secret = var.slack_signing_secret
  slack_bot_token      = var.slack_bot_token
  handoff              = var.handoff
  handoff_key          = var.handoff_key
  dedupe               = var.dedupe
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "name" {
  type    = string
  default = "slack-example"
}

variable "architecture" {
  type    = string
  default = "x86_64"
}

variable "slack_signing_secret" {
  type      = string
  sensitive = true
}

variable "slack_bot_token" {
  type      = string
  sensitive = true
  default   = ""
}

variable "handoff" {
  type    = bool
  default = false
}

variable "handoff_key" {
  type      = string
  sensitive = true
  default   = ""
}

variable "dedupe" {
  type    = bool
  default = false
}

output "slack_request_url" {
  description = "Paste into the Slack app as its Request URL."
  value       = module.slack.function_url
}

output "function_name" {
  value = module.slack.function_name
}
