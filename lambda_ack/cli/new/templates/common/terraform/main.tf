# {{name}} on AWS Lambda with Terraform. From the project's folder:
#   lambda-ack build             # dist/function.zip and dist/python-layer.zip
#   cd terraform && terraform init
#   terraform apply -var slack_signing_secret=...
# lambda-ack/ is the module of lambda-ack {{version}}, copied here by `lambda-ack new`.
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

module "function" {
  source = "./lambda-ack"

  name                 = var.name
  handler              = "app.handler"
  function_zip         = "${path.module}/../dist/function.zip"
  python_layer_zip     = "${path.module}/../dist/python-layer.zip"
  architecture         = var.architecture
  slack_signing_secret = var.slack_signing_secret
  slack_bot_token      = var.slack_bot_token
  dedupe               = var.dedupe
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "name" {
  type    = string
  default = "{{name}}"
}

variable "architecture" {
  description = "As pyproject.toml's [tool.lambda-ack] architecture (the layer is native code)."
  type        = string
  default     = "x86_64"
}

variable "slack_signing_secret" {
  description = "Slack app > Basic Information > Signing Secret."
  type        = string
  sensitive   = true
}

variable "slack_bot_token" {
  description = "Bot User OAuth Token (xoxb-...), for Web API calls."
  type        = string
  sensitive   = true
  default     = ""
}

variable "dedupe" {
  description = "The shared duplicate guard: a DynamoDB table every environment claims Slack requests in."
  type        = bool
  default     = false
}

output "slack_request_url" {
  description = "Paste into the Slack app as the Request URL of the slash command, events and interactivity."
  value       = module.function.function_url
}

output "function_name" {
  value = module.function.function_name
}
