# The optional SNS topic of iota's `sns` alert output (`--output sns=TOPIC_ARN`).

resource "aws_sns_topic" "alerts" {
  count = var.create_alerts_topic ? 1 : 0

  name              = "${var.name}-alerts"
  kms_master_key_id = var.alerts_topic_kms_key_arn
  tags              = var.tags
}
