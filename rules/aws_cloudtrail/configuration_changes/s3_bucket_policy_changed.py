"""A change to an S3 bucket's policy, ACL, CORS, lifecycle or replication configuration (CIS 4.8)."""

from iota_helpers import aws_rule_context, is_aws_service, principal, principal_key

EVENT_NAMES = {
    "PutBucketAcl",
    "PutBucketPolicy",
    "PutBucketCors",
    "PutBucketLifecycle",
    "PutBucketReplication",
    "DeleteBucketPolicy",
    "DeleteBucketCors",
    "DeleteBucketLifecycle",
    "DeleteBucketReplication",
}



def rule(event):
    if event.get("eventSource") != "s3.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    if event.get("errorCode"):
        return False
    return not is_aws_service(event)


def _bucket(event):
    return event.deep_get("requestParameters", "bucketName") or "<unknown bucket>"


def title(event):
    return f"{principal(event)} changed S3 bucket {_bucket(event)} ({event.get('eventName')})"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{principal_key(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["bucket"] = _bucket(event)
    return context
