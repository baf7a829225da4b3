# An example root module: iota on an existing EKS cluster, reading an organisation trail's
# bucket through an SQS queue (created here, with its dead-letter queue and the bucket's
# notification), and publishing alerts to a new SNS topic. Apply it, then put its outputs in
# the Kubernetes overlay (deploy/kubernetes/overlays/sqs-postgres): see docs/DEPLOYMENT.md.

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

variable "region" {
  description = "Region of the cluster, the trail bucket and the queue."
  type        = string
  default     = "eu-west-1"
}

variable "cluster_name" {
  description = "Name of the EKS cluster iota runs in (its IAM OIDC provider must exist)."
  type        = string
}

variable "trail_bucket_name" {
  description = "The bucket the organisation trail delivers to."
  type        = string
}

variable "trail_kms_key_arn" {
  description = "The trail's KMS key, when it uses SSE-KMS."
  type        = string
  default     = null
}

provider "aws" {
  region = var.region
}

data "aws_eks_cluster" "this" {
  name = var.cluster_name
}

data "aws_iam_openid_connect_provider" "this" {
  url = data.aws_eks_cluster.this.identity[0].oidc[0].issuer
}

module "iota" {
  source = "../.."

  oidc_provider_arn = data.aws_iam_openid_connect_provider.this.arn
  trail_bucket_name = var.trail_bucket_name
  trail_kms_key_arn = var.trail_kms_key_arn

  create_queue               = true
  create_bucket_notification = true
  create_alerts_topic        = true

  tags = {
    application = "iota"
  }
}

output "role_arn" {
  description = "Annotate iota's service account with it (eks.amazonaws.com/role-arn)."
  value       = module.iota.role_arn
}

output "queue_url" {
  description = "IOTA_SQS_QUEUE_URL of the sqs-postgres overlay."
  value       = module.iota.queue_url
}

output "dead_letter_queue_arn" {
  description = "Where messages that keep failing end up."
  value       = module.iota.dead_letter_queue_arn
}

output "alerts_topic_arn" {
  description = "Add `--output sns=<this>` (or an [[outputs]] table of kind sns) to send alerts to it."
  value       = module.iota.alerts_topic_arn
}
