# The module's inputs: who may assume the role (the EKS cluster's OIDC provider and the
# service account), what iota reads (the trail bucket, its prefix and key), and the optional
# pieces (the SQS queue with its dead-letter queue and notifications, the alerts topic).

variable "name" {
  description = "Name of the IAM role, and prefix of the queue, dead-letter queue and topic names."
  type        = string
  default     = "iota"
}

variable "oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider (arn:aws:iam::ACCOUNT:oidc-provider/oidc.eks.REGION.amazonaws.com/id/ID): the role trusts its tokens for one service account."
  type        = string

  validation {
    condition     = can(regex("^arn:[^:]+:iam::[0-9]{12}:oidc-provider/.+$", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be an IAM OIDC provider ARN (arn:aws:iam::ACCOUNT:oidc-provider/ISSUER)."
  }
}

variable "namespace" {
  description = "Kubernetes namespace of iota's service account (deploy/kubernetes uses `iota`)."
  type        = string
  default     = "iota"
}

variable "service_account" {
  description = "Name of iota's Kubernetes service account (deploy/kubernetes uses `iota`)."
  type        = string
  default     = "iota"
}

variable "trail_bucket_name" {
  description = "The S3 bucket the CloudTrail trail delivers its log files to."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.trail_bucket_name))
    error_message = "trail_bucket_name must be a bucket name (not an ARN or s3:// URL)."
  }
}

variable "trail_bucket_account_id" {
  description = "Account that owns the trail bucket, which the queue policy requires of S3 notifications; null for the account Terraform runs in."
  type        = string
  default     = null
}

variable "trail_prefix" {
  description = "Key prefix of the trail's log files (iota's --prefix without `*` segments): s3:GetObject is granted below it only. `AWSLogs/` for a trail without an S3 key prefix, `PREFIX/AWSLogs/` for one with."
  type        = string
  default     = "AWSLogs/"

  validation {
    condition     = (var.trail_prefix == "" || endswith(var.trail_prefix, "/")) && !strcontains(var.trail_prefix, "*")
    error_message = "trail_prefix must be empty or end with /, without wildcards."
  }
}

variable "trail_kms_key_arn" {
  description = "ARN of the KMS key the trail encrypts its log files with (SSE-KMS), for kms:Decrypt through S3; null when the trail uses SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.trail_kms_key_arn == null || can(regex("^arn:[^*]+$", var.trail_kms_key_arn))
    error_message = "trail_kms_key_arn must be an ARN without wildcards, or null."
  }
}

variable "lake_bucket_name" {
  description = "The bucket of the data lake iota writes with --lake s3://BUCKET/PREFIX; null for no lake."
  type        = string
  default     = null

  validation {
    condition     = var.lake_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.lake_bucket_name))
    error_message = "lake_bucket_name must be a bucket name (not an ARN or s3:// URL), or null."
  }
}

variable "lake_prefix" {
  description = "The lake's key prefix (the PREFIX of --lake followed by /, or empty): s3:PutObject and s3:DeleteObject are granted below it only."
  type        = string
  default     = ""

  validation {
    condition     = (var.lake_prefix == "" || endswith(var.lake_prefix, "/")) && !strcontains(var.lake_prefix, "*")
    error_message = "lake_prefix must be empty or end with /, without wildcards."
  }
}

variable "lake_kms_key_arn" {
  description = "ARN of the KMS key the lake bucket encrypts new objects with (SSE-KMS), for kms:GenerateDataKey through S3; null for SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.lake_kms_key_arn == null || can(regex("^arn:[^*]+$", var.lake_kms_key_arn))
    error_message = "lake_kms_key_arn must be an ARN without wildcards, or null."
  }
}

variable "create_queue" {
  description = "Create the SQS queue `iota sqs` reads (with a dead-letter queue and redrive policy)."
  type        = bool
  default     = false
}

variable "queue_arn" {
  description = "ARN of an existing queue `iota sqs` reads, when create_queue is false; null for none (s3-poll only)."
  type        = string
  default     = null

  validation {
    condition     = var.queue_arn == null || can(regex("^arn:[^*]+$", var.queue_arn))
    error_message = "queue_arn must be an ARN without wildcards, or null."
  }
}

variable "queue_kms_key_arn" {
  description = "ARN of the KMS key of an existing queue encrypted with SSE-KMS (queue_arn), for kms:Decrypt; null otherwise. A queue created here uses SQS-managed encryption and needs none."
  type        = string
  default     = null

  validation {
    condition     = var.queue_kms_key_arn == null || can(regex("^arn:[^*]+$", var.queue_kms_key_arn))
    error_message = "queue_kms_key_arn must be an ARN without wildcards, or null."
  }
}

variable "queue_visibility_timeout_seconds" {
  description = "Visibility timeout of the created queue; iota extends it while a message's objects are processed (--visibility-timeout)."
  type        = number
  default     = 300
}

variable "max_receive_count" {
  description = "Receives of a message before SQS moves it to the dead-letter queue."
  type        = number
  default     = 5
}

variable "create_bucket_notification" {
  description = "Send the trail bucket's s3:ObjectCreated:* notifications under trail_prefix to the created queue. This manages the bucket's whole notification configuration: leave it false when the bucket notifies anything else, and add the queue to that configuration instead."
  type        = bool
  default     = false
}

variable "notification_topic_arn" {
  description = "ARN of an existing SNS topic the trail bucket notifies (e.g. an organisation trail's): the created queue subscribes to it. Null for none."
  type        = string
  default     = null
}

variable "create_alerts_topic" {
  description = "Create an SNS topic for iota's `sns` alert output, and allow the role to publish to it."
  type        = bool
  default     = false
}

variable "alerts_topic_arn" {
  description = "ARN of an existing SNS topic for the `sns` alert output, when create_alerts_topic is false; null for none. sns:Publish is granted only when a topic is set."
  type        = string
  default     = null

  validation {
    condition     = var.alerts_topic_arn == null || can(regex("^arn:[^*]+$", var.alerts_topic_arn))
    error_message = "alerts_topic_arn must be an ARN without wildcards, or null."
  }
}

variable "alerts_topic_kms_key_arn" {
  description = "ARN of the KMS key the alerts topic is encrypted with (a created topic uses it), for kms:GenerateDataKey and kms:Decrypt; null for an unencrypted topic."
  type        = string
  default     = null

  validation {
    condition     = var.alerts_topic_kms_key_arn == null || can(regex("^arn:[^*]+$", var.alerts_topic_kms_key_arn))
    error_message = "alerts_topic_kms_key_arn must be an ARN without wildcards, or null."
  }
}

variable "assume_role_arns" {
  description = "Roles iota may assume (its --assume-role, or a source's role), e.g. a reader role in the account that owns the bucket. Empty: no sts:AssumeRole."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.assume_role_arns : can(regex("^arn:[^*]+:role/[^*]+$", arn))])
    error_message = "assume_role_arns must be role ARNs without wildcards."
  }
}

variable "permissions_boundary_arn" {
  description = "ARN of a permissions boundary for the role, if your organisation requires one."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
