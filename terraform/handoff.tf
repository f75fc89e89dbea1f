# The opt-in hand-off (handoff = true): durable callbacks the function cannot finish go to this
# queue and come back to the same function through the mapping; what keeps failing lands in the
# dead-letter queue after five deliveries. Only the function's role may send to the queue (a
# message names code to run with that role; the runtime also runs only messages it signed).
resource "aws_sqs_queue" "handoff_dead_letters" {
  count                     = var.handoff ? 1 : 0
  name                      = "${var.name}-handoff-dlq"
  message_retention_seconds = 1209600 # 14 days, SQS's longest: time to look and re-drive
}

resource "aws_sqs_queue" "handoff" {
  count                      = var.handoff ? 1 : 0
  name                       = local.handoff_queue
  visibility_timeout_seconds = 6 * var.timeout # as Lambda's SQS guide asks
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.handoff_dead_letters[0].arn
    maxReceiveCount     = 5
  })
  policy = data.aws_iam_policy_document.handoff_queue[0].json
}

locals {
  handoff_queue = "${var.name}-handoff"
  # The queue's own ARN, for its policy, before it exists.
  handoff_queue_arn = join(":", [
    "arn", data.aws_partition.current.partition, "sqs", data.aws_region.current.name,
    data.aws_caller_identity.current.account_id, local.handoff_queue,
  ])
}

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "handoff_queue" {
  count = var.handoff ? 1 : 0
  statement {
    sid       = "OnlyTheFunctionSends"
    effect    = "Deny"
    actions   = ["sqs:SendMessage"]
    resources = [local.handoff_queue_arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = [aws_iam_role.this.arn]
    }
  }
}

resource "aws_lambda_event_source_mapping" "handoff" {
  count                   = var.handoff ? 1 : 0
  event_source_arn        = aws_sqs_queue.handoff[0].arn
  function_name           = local.target
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"]    # redeliver only the records that failed
  depends_on              = [aws_lambda_function_url.this] # one change to the function at a time
}
