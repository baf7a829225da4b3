"""S3 server access logging turned off on a bucket (PutBucketLogging without LoggingEnabled)."""

from iota_helpers import aws_rule_context, is_aws_service, principal


def rule(event):
    if event.get("eventSource") != "s3.amazonaws.com" or event.get("eventName") != "PutBucketLogging":
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False
    status = event.deep_get("requestParameters", "BucketLoggingStatus")
    # An empty BucketLoggingStatus (only its xmlns) is how the API switches logging off.
    return status is not None and event.deep_get("requestParameters", "BucketLoggingStatus", "LoggingEnabled") is None


def title(event):
    bucket = event.deep_get("requestParameters", "bucketName", default="<unknown bucket>")
    return f"{principal(event)} disabled server access logging on S3 bucket {bucket}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('requestParameters', 'bucketName')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["bucket"] = event.deep_get("requestParameters", "bucketName")
    return context
