locals {
  image = var.image_uri != ""
  environment = merge(
    var.environment,
    {
      SLACK_SIGNING_SECRET             = var.slack_signing_secret
      SLACK_BOT_TOKEN                  = var.slack_bot_token
      LAMBDA_RUNTIME_HANDOFF_QUEUE_URL = var.handoff ? aws_sqs_queue.handoff[0].url : ""
      LAMBDA_RUNTIME_HANDOFF_KEY       = var.handoff ? var.handoff_key : ""
      LAMBDA_RUNTIME_DEDUPE_TABLE      = var.dedupe ? aws_dynamodb_table.dedupe[0].name : ""
      # runtime.web.asgi streams its answers when the Function URL does (the event cannot say).
      LAMBDA_RUNTIME_RESPONSE_STREAMING = var.invoke_mode == "RESPONSE_STREAM" ? "1" : ""
    },
  )
}

# The interpreter (python-build-standalone, from `lambda-ack build`) as a layer: Lambda unpacks it
# in /opt, where bootstrap finds /opt/python/bin/python3. Code updates then upload a few MB.
resource "aws_lambda_layer_version" "python" {
  count                    = local.image ? 0 : 1
  layer_name               = "${var.name}-python"
  description              = "CPython for the lambda-ack runtime (unpacks to /opt/python)"
  filename                 = var.python_layer_zip
  source_code_hash         = filebase64sha256(var.python_layer_zip)
  compatible_runtimes      = ["provided.al2023"]
  compatible_architectures = [var.architecture]
}

resource "aws_lambda_function" "this" {
  function_name = var.name
  role          = aws_iam_role.this.arn
  architectures = [var.architecture]
  package_type  = local.image ? "Image" : "Zip"
  # A zip: the OS-only runtime starts the zip's bootstrap; Python comes from the layer. A rebuilt
  # zip has another hash, so it redeploys.
  runtime          = local.image ? null : "provided.al2023"
  handler          = local.image ? null : var.handler
  filename         = local.image ? null : var.function_zip
  source_code_hash = local.image ? null : filebase64sha256(var.function_zip)
  layers           = local.image ? null : [aws_lambda_layer_version.python[0].arn]
  image_uri        = local.image ? var.image_uri : null
  memory_size      = var.memory_size
  timeout          = var.timeout
  publish          = var.publish

  # SnapStart applies to published versions only; the runtime runs the snapshot_restore_py hooks.
  dynamic "snap_start" {
    for_each = var.snap_start ? ["PublishedVersions"] : []
    content {
      apply_on = snap_start.value
    }
  }

  dynamic "image_config" {
    for_each = local.image && var.handler != "" ? [var.handler] : []
    content {
      command = [image_config.value]
    }
  }

  environment {
    variables = local.environment
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  lifecycle {
    precondition {
      condition     = local.image || (var.function_zip != "" && var.python_layer_zip != "")
      error_message = "A zip function needs function_zip and python_layer_zip (lambda-ack build writes both), or give image_uri."
    }
    precondition {
      condition     = !var.snap_start || var.publish
      error_message = "snap_start needs publish = true: SnapStart applies to published versions only."
    }
    precondition {
      condition     = !var.handoff || length(var.handoff_key) >= 32
      error_message = "handoff needs handoff_key: at least 32 characters only the function knows."
    }
  }

  depends_on = [aws_iam_role_policy.this]
}

# With publish: each change a new version, and the alias (what the URL and the mapping serve) moved
# to it. Without: the URL and the mapping serve the function's latest code.
resource "aws_lambda_alias" "this" {
  count            = var.publish ? 1 : 0
  name             = var.alias
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version
}

locals {
  qualifier = var.publish ? aws_lambda_alias.this[0].name : null
  target    = var.publish ? aws_lambda_alias.this[0].arn : aws_lambda_function.this.arn
}

# A public HTTPS URL for Slack. AuthType NONE because Slack cannot sign AWS (SigV4) requests; the
# runtime verifies Slack's signature on every request and answers 401 to anything else.
resource "aws_lambda_function_url" "this" {
  function_name      = aws_lambda_function.this.function_name
  qualifier          = local.qualifier
  authorization_type = "NONE"
  invoke_mode        = var.invoke_mode
}


resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
}
