# What the deployment needs from the module: the role for the service account annotation,
# the queue URL for `iota sqs`, the topic for the `sns` output, and the policy itself for
# other runtimes (an ECS task role, an instance profile).

output "role_arn" {
  description = "ARN of the IAM role: the eks.amazonaws.com/role-arn annotation of iota's service account."
  value       = aws_iam_role.iota.arn
}

output "role_name" {
  description = "Name of the IAM role."
  value       = aws_iam_role.iota.name
}

output "policy_json" {
  description = "iota's permissions as one IAM policy document, e.g. to attach to an ECS task role or an EC2 instance profile instead."
  value       = data.aws_iam_policy_document.iota.json
}

output "queue_url" {
  description = "URL of the created queue (iota sqs --queue-url, IOTA_SQS_QUEUE_URL); null when create_queue is false."
  value       = var.create_queue ? aws_sqs_queue.events[0].id : null
}

output "queue_arn" {
  description = "ARN of the queue iota reads (created or given); null when there is none."
  value       = local.queue_arn
}

output "dead_letter_queue_url" {
  description = "URL of the created dead-letter queue; null when create_queue is false."
  value       = var.create_queue ? aws_sqs_queue.dead_letter[0].id : null
}

output "dead_letter_queue_arn" {
  description = "ARN of the created dead-letter queue (for aws sqs start-message-move-task); null when create_queue is false."
  value       = var.create_queue ? aws_sqs_queue.dead_letter[0].arn : null
}

output "alerts_topic_arn" {
  description = "ARN of the alerts topic (created or given) for --output sns=TOPIC_ARN; null when there is none."
  value       = local.alerts_topic_arn
}
