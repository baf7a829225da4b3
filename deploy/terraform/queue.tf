# The optional SQS side of `iota sqs`: the queue, its dead-letter queue and redrive policy,
# the queue policy that lets the trail bucket (or its SNS topic) send to it, and the bucket
# notification or topic subscription that feeds it.

resource "aws_sqs_queue" "dead_letter" {
  count = var.create_queue ? 1 : 0

  name                      = "${var.name}-trail-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_sqs_queue" "events" {
  count = var.create_queue ? 1 : 0

  name                       = "${var.name}-trail"
  visibility_timeout_seconds = var.queue_visibility_timeout_seconds
  receive_wait_time_seconds  = 20
  message_retention_seconds  = 1209600
  sqs_managed_sse_enabled    = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter[0].arn
    maxReceiveCount     = var.max_receive_count
  })
  tags = var.tags
}

# Only the trail queue may send its dead letters here.
resource "aws_sqs_queue_redrive_allow_policy" "dead_letter" {
  count = var.create_queue ? 1 : 0

  queue_url = aws_sqs_queue.dead_letter[0].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.events[0].arn]
  })
}

# Who may send to the queue: S3 for the trail bucket (of its owner account), or the topic.
data "aws_iam_policy_document" "queue" {
  count = var.create_queue ? 1 : 0

  statement {
    sid       = "TrailBucketNotifications"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events[0].arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.bucket_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [coalesce(var.trail_bucket_account_id, data.aws_caller_identity.current.account_id)]
    }
  }

  dynamic "statement" {
    for_each = var.notification_topic_arn != null ? [var.notification_topic_arn] : []

    content {
      sid       = "TrailTopicNotifications"
      effect    = "Allow"
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.events[0].arn]

      principals {
        type        = "Service"
        identifiers = ["sns.amazonaws.com"]
      }

      condition {
        test     = "ArnEquals"
        variable = "aws:SourceArn"
        values   = [statement.value]
      }
    }
  }
}

resource "aws_sqs_queue_policy" "events" {
  count = var.create_queue ? 1 : 0

  queue_url = aws_sqs_queue.events[0].id
  policy    = data.aws_iam_policy_document.queue[0].json
}

resource "aws_s3_bucket_notification" "trail" {
  count = var.create_bucket_notification ? 1 : 0

  bucket = var.trail_bucket_name

  queue {
    id            = "${var.name}-trail"
    queue_arn     = aws_sqs_queue.events[0].arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = var.trail_prefix
    filter_suffix = ".json.gz"
  }

  depends_on = [aws_sqs_queue_policy.events]

  lifecycle {
    precondition {
      condition     = var.create_queue && var.notification_topic_arn == null
      error_message = "create_bucket_notification needs create_queue, and excludes notification_topic_arn (the bucket notifies the topic instead)."
    }
  }
}

# The organisation-trail setup: the bucket notifies a topic, the queue subscribes to it.
# iota reads the SNS envelope, so raw message delivery stays off.
resource "aws_sns_topic_subscription" "trail" {
  count = var.create_queue && var.notification_topic_arn != null ? 1 : 0

  topic_arn = var.notification_topic_arn
  protocol  = "sqs"
  endpoint  = aws_sqs_queue.events[0].arn

  depends_on = [aws_sqs_queue_policy.events]
}
