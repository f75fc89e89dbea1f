variable "name" {
  description = "The function's name; its role, log group, queues and table are named after it."
  type        = string
}

variable "handler" {
  description = "_HANDLER: module.function (`/` for sub-folders). For an image, the image's CMD when empty."
  type        = string
  default     = "app.handler"
}

variable "function_zip" {
  description = "dist/function.zip from `lambda-ack build` (or ./build.sh). Leave empty for an image."
  type        = string
  default     = ""
}

variable "python_layer_zip" {
  description = "dist/python-layer.zip from `lambda-ack build`: the interpreter, as a layer. Zip functions only."
  type        = string
  default     = ""
}

variable "image_uri" {
  description = "An ECR image (the project's Dockerfile, built from `lambda-ack build --image`), instead of the zips."
  type        = string
  default     = ""
}

variable "architecture" {
  description = "x86_64 or arm64: as the build's (the layer and the vendored wheels are native code)."
  type        = string
  default     = "x86_64"
  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture is x86_64 or arm64."
  }
}

variable "memory_size" {
  description = "MB. Lambda gives CPU in proportion: 512 keeps a cold start plus an ack well inside Slack's 3 s."
  type        = number
  default     = 512
}

variable "timeout" {
  description = "Seconds, for the whole invocation: the acknowledgement and the deferred work after it."
  type        = number
  default     = 60
}

variable "invoke_mode" {
  description = "The Function URL's mode: BUFFERED (Slack) or RESPONSE_STREAM (handlers that answer with runtime.Stream)."
  type        = string
  default     = "BUFFERED"
  validation {
    condition     = contains(["BUFFERED", "RESPONSE_STREAM"], var.invoke_mode)
    error_message = "invoke_mode is BUFFERED or RESPONSE_STREAM."
  }
}

variable "log_retention_days" {
  description = "How long CloudWatch keeps the function's logs."
  type        = number
  default     = 30
}

variable "slack_signing_secret" {
  description = "Slack app > Basic Information > Signing Secret. Without it a SlackApp fails its init rather than serve unverified requests."
  type        = string
  sensitive   = true
  default     = ""
}

variable "slack_bot_token" {
  description = "Bot User OAuth Token (xoxb-...), for Web API calls."
  type        = string
  sensitive   = true
  default     = ""
}

variable "environment" {
  description = "More environment variables for the function."
  type        = map(string)
  default     = {}
}

variable "handoff" {
  description = "The hand-off of durable deferred work: an SQS queue with a dead-letter queue, consumed by the function itself. Its code then needs boto3 (requirements-handoff.txt)."
  type        = bool
  default     = false
}

variable "handoff_key" {
  description = "With handoff: at least 32 characters only the function knows; they sign its hand-off messages (python3 -c 'import secrets; print(secrets.token_urlsafe(32))')."
  type        = string
  sensitive   = true
  default     = ""
}

variable "dedupe" {
  description = "The shared duplicate guard: a DynamoDB table every environment claims Slack requests in."
  type        = bool
  default     = false
}

variable "alias" {
  description = "With publish: the alias the Function URL and the hand-off's mapping serve, moved to each new version."
  type        = string
  default     = "live"
}

variable "publish" {
  description = "Publish a version at each change, and serve it through the alias (SnapStart needs published versions)."
  type        = bool
  default     = false
}

variable "snap_start" {
  description = "Lambda SnapStart: each published version is initialised once and restored from a snapshot at each cold start. Needs publish = true; the runtime implements the restore protocol, so an image needs no label."
  type        = bool
  default     = false
}
