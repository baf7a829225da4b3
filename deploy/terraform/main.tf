# The IAM role iota's pods assume through IRSA, and its least-privilege policy: read the
# trail (list the bucket, get objects below the trail prefix, decrypt with the trail key),
# write the data lake when there is one, consume the queue when there is one, publish alerts when there is a topic, and assume the
# listed roles. Every statement names its resources: no `*` action, no `*` resource.

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

locals {
  partition   = data.aws_partition.current.partition
  oidc_issuer = element(split(":oidc-provider/", var.oidc_provider_arn), 1)
  bucket_arn  = "arn:${local.partition}:s3:::${var.trail_bucket_name}"

  queue_arn         = var.create_queue ? aws_sqs_queue.events[0].arn : var.queue_arn
  alerts_topic_arn  = var.create_alerts_topic ? aws_sns_topic.alerts[0].arn : var.alerts_topic_arn
  queue_enabled     = var.create_queue || var.queue_arn != null
  alerts_enabled    = var.create_alerts_topic || var.alerts_topic_arn != null
  queue_kms_enabled = !var.create_queue && var.queue_kms_key_arn != null
  lake_enabled      = var.lake_bucket_name != null
  lake_bucket_arn   = "arn:${local.partition}:s3:::${coalesce(var.lake_bucket_name, "none")}"
}

# Only iota's service account, through the cluster's OIDC provider, may assume the role.
data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "IotaServiceAccount"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.namespace}:${var.service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

# Reading the trail, as `iota s3-poll` and `iota sqs` do.
data "aws_iam_policy_document" "read_trail" {
  # The whole bucket: /readyz lists it without a prefix, and discovery lists below the
  # trail prefix one level at a time. Listing shows key names, not contents.
  statement {
    sid       = "ListTrailBucket"
    effect    = "Allow"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [local.bucket_arn]
  }

  # Objects are named by prefix: an object ARN ending in `*` is the only way to grant the
  # log files the trail writes later.
  statement {
    sid       = "GetTrailObjects"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/${var.trail_prefix}*"]
  }
}

data "aws_iam_policy_document" "decrypt_trail" {
  count = var.trail_kms_key_arn != null ? 1 : 0

  # Only for S3 decrypting the trail's objects on iota's behalf.
  statement {
    sid       = "DecryptTrailObjects"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [var.trail_kms_key_arn]

    condition {
      test     = "StringLike"
      variable = "kms:ViaService"
      values   = ["s3.*.amazonaws.com"]
    }
  }
}

# Writing the data lake (`--lake s3://BUCKET/PREFIX`): HeadBucket at start, then the files
# of each flush written, and those of a flush a crash left uncommitted deleted.
data "aws_iam_policy_document" "write_lake" {
  count = local.lake_enabled ? 1 : 0

  statement {
    sid       = "ListLakeBucket"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.lake_bucket_arn]
  }

  statement {
    sid       = "WriteLakeObjects"
    effect    = "Allow"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.lake_bucket_arn}/${var.lake_prefix}*"]
  }
}

data "aws_iam_policy_document" "encrypt_lake" {
  count = local.lake_enabled && var.lake_kms_key_arn != null ? 1 : 0

  # Only for S3 encrypting the lake's objects on iota's behalf.
  statement {
    sid       = "EncryptLakeObjects"
    effect    = "Allow"
    actions   = ["kms:GenerateDataKey"]
    resources = [var.lake_kms_key_arn]

    condition {
      test     = "StringLike"
      variable = "kms:ViaService"
      values   = ["s3.*.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "consume_queue" {
  count = local.queue_enabled ? 1 : 0

  statement {
    sid    = "ConsumeQueue"
    effect = "Allow"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
    ]
    resources = [local.queue_arn]
  }
}

data "aws_iam_policy_document" "decrypt_queue" {
  count = local.queue_kms_enabled ? 1 : 0

  statement {
    sid       = "DecryptQueueMessages"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [var.queue_kms_key_arn]
  }
}

data "aws_iam_policy_document" "publish_alerts" {
  count = local.alerts_enabled ? 1 : 0

  statement {
    sid       = "PublishAlerts"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [local.alerts_topic_arn]
  }
}

data "aws_iam_policy_document" "encrypt_alerts" {
  count = local.alerts_enabled && var.alerts_topic_kms_key_arn != null ? 1 : 0

  statement {
    sid       = "EncryptAlerts"
    effect    = "Allow"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.alerts_topic_kms_key_arn]
  }
}

data "aws_iam_policy_document" "assume_roles" {
  count = length(var.assume_role_arns) > 0 ? 1 : 0

  statement {
    sid       = "AssumeReaderRoles"
    effect    = "Allow"
    actions   = ["sts:AssumeRole"]
    resources = var.assume_role_arns
  }
}

# Every statement that applies, in one policy document.
data "aws_iam_policy_document" "iota" {
  source_policy_documents = concat(
    [data.aws_iam_policy_document.read_trail.json],
    data.aws_iam_policy_document.decrypt_trail[*].json,
    data.aws_iam_policy_document.write_lake[*].json,
    data.aws_iam_policy_document.encrypt_lake[*].json,
    data.aws_iam_policy_document.consume_queue[*].json,
    data.aws_iam_policy_document.decrypt_queue[*].json,
    data.aws_iam_policy_document.publish_alerts[*].json,
    data.aws_iam_policy_document.encrypt_alerts[*].json,
    data.aws_iam_policy_document.assume_roles[*].json,
  )
}

resource "aws_iam_role" "iota" {
  name                 = var.name
  description          = "iota CloudTrail detection (IRSA: ${var.namespace}/${var.service_account})"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role_policy" "iota" {
  name   = var.name
  role   = aws_iam_role.iota.id
  policy = data.aws_iam_policy_document.iota.json
}
