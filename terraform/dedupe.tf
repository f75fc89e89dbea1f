# The opt-in duplicate guard (dedupe = true): every environment of the function claims each Slack
# request here, with one conditional write, so a retry routed to another environment, or arriving
# after a cold start, runs nothing twice. DynamoDB deletes an item after its expiry (an hour; a
# handed-off callback's, 14 days).
resource "aws_dynamodb_table" "dedupe" {
  count        = var.dedupe ? 1 : 0
  name         = "${var.name}-dedupe"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "key"

  attribute {
    name = "key"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }
}
