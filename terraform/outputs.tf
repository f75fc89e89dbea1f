output "function_name" {
  description = "For the Lambda console and `aws logs tail /aws/lambda/<name>`."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  value = aws_lambda_function.this.arn
}

output "function_url" {
  description = "The Slack Request URL: paste it as the slash command's, the Event Subscriptions' and the Interactivity's Request URL."
  value       = aws_lambda_function_url.this.function_url
}

output "role_arn" {
  value = aws_iam_role.this.arn
}

output "handoff_queue_url" {
  value = var.handoff ? aws_sqs_queue.handoff[0].url : null
}

output "dedupe_table" {
  value = var.dedupe ? aws_dynamodb_table.dedupe[0].name : null
}
