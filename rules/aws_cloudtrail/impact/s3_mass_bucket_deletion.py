"""One principal deleting several S3 buckets in a short time."""

from iota_helpers import aws_rule_context, is_aws_service, principal


def rule(event):
    if event.get("eventSource") != "s3.amazonaws.com" or event.get("eventName") != "DeleteBucket":
        return False
    return not (event.get("errorCode") or is_aws_service(event))


def unique(event):
    return str(event.deep_get("requestParameters", "bucketName", default=event.get("eventID")))


def title(event):
    return f"{principal(event)} deleted several S3 buckets in account {event.get('recipientAccountId')}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('userIdentity', 'arn')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["bucket"] = event.deep_get("requestParameters", "bucketName")
    return context
