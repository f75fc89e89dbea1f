# The function's role: what it does and nothing more. Logs to its own log group; with the hand-off,
# send to, and consume, its own queue; with the duplicate guard, claim and give back requests in
# its own table.
data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-function"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  dynamic "statement" {
    for_each = var.handoff ? [1] : []
    content {
      sid = "HandOff"
      actions = [
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
      ]
      resources = [aws_sqs_queue.handoff[0].arn]
    }
  }

  dynamic "statement" {
    for_each = var.dedupe ? [1] : []
    content {
      sid       = "DuplicateGuard"
      actions   = ["dynamodb:PutItem", "dynamodb:DeleteItem"]
      resources = [aws_dynamodb_table.dedupe[0].arn]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name}-function"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.function.json
}
