# `terraform test` for the policy documents as the AWS provider renders them: no AWS account
# or credentials needed (the plan reads no AWS API; the caller identity is overridden), only
# the provider (`terraform init`). The optional permissions appear only with their feature,
# and no statement has a `*` action or a `*` resource.

provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

override_data {
  target = data.aws_caller_identity.current
  values = { account_id = "111122223333" }
}

variables {
  oidc_provider_arn = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
  trail_bucket_name = "my-org-trail"
}

run "reading_the_trail_only" {
  command = plan

  assert {
    condition     = [for s in jsondecode(data.aws_iam_policy_document.iota.json).Statement : s.Sid] == ["ListTrailBucket", "GetTrailObjects"]
    error_message = "Without a key, queue, topic or role, the role may only list the bucket and get its log files."
  }

  assert {
    condition     = jsondecode(data.aws_iam_policy_document.iota.json).Statement[1].Resource == "arn:aws:s3:::my-org-trail/AWSLogs/*"
    error_message = "s3:GetObject is granted below the trail prefix only."
  }

  assert {
    condition     = jsondecode(data.aws_iam_policy_document.trust.json).Statement[0].Condition.StringEquals["oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE:sub"] == "system:serviceaccount:iota:iota"
    error_message = "The role trusts iota's service account only."
  }
}

run "every_permission" {
  command = plan

  variables {
    trail_kms_key_arn        = "arn:aws:kms:eu-west-1:111122223333:key/trail"
    queue_arn                = "arn:aws:sqs:eu-west-1:111122223333:iota-trail"
    queue_kms_key_arn        = "arn:aws:kms:eu-west-1:111122223333:key/queue"
    alerts_topic_arn         = "arn:aws:sns:eu-west-1:111122223333:iota-alerts"
    alerts_topic_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/alerts"
    assume_role_arns         = ["arn:aws:iam::444455556666:role/iota-reader"]
  }

  assert {
    condition = [for s in jsondecode(data.aws_iam_policy_document.iota.json).Statement : s.Sid] == [
      "ListTrailBucket", "GetTrailObjects", "DecryptTrailObjects", "ConsumeQueue",
      "DecryptQueueMessages", "PublishAlerts", "EncryptAlerts", "AssumeReaderRoles",
    ]
    error_message = "Each feature adds its statement."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(data.aws_iam_policy_document.iota.json).Statement :
      alltrue([for a in flatten([s.Action]) : !strcontains(a, "*")])
    ])
    error_message = "No action has a wildcard."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(data.aws_iam_policy_document.iota.json).Statement :
      alltrue([for r in flatten([s.Resource]) : !strcontains(r, "*") || r == "arn:aws:s3:::my-org-trail/AWSLogs/*"])
    ])
    error_message = "No resource has a wildcard, but the trail's objects."
  }
}
