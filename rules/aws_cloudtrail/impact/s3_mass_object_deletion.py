"""One principal deleting many distinct S3 objects one by one (DeleteObject data events)."""

from iota_helpers import aws_rule_context, is_aws_service, principal, principal_arn_matches

# Cleanup jobs expected to delete many objects, matched on userIdentity.arn (fnmatch).
ALLOWED_PRINCIPAL_ARNS = []


def allowed_principal_arns():
    """The allow-list (a function so that tests can mock it)."""
    return ALLOWED_PRINCIPAL_ARNS


def rule(event):
    if event.get("eventSource") != "s3.amazonaws.com" or event.get("eventName") != "DeleteObject":
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False  # lifecycle expirations are not API calls; replication / batch jobs are services
    return not principal_arn_matches(event, allowed_principal_arns())


def unique(event):
    bucket = event.deep_get("requestParameters", "bucketName")
    return f"{bucket}/{event.deep_get('requestParameters', 'key')}:{event.deep_get('requestParameters', 'versionId')}"


def title(event):
    return f"{principal(event)} deleted many S3 objects in account {event.get('recipientAccountId')}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('userIdentity', 'arn')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["bucket"] = event.deep_get("requestParameters", "bucketName")
    context["key"] = event.deep_get("requestParameters", "key")
    # A versionId deletes that version for good; without one, versioned buckets keep a copy.
    context["version_id"] = event.deep_get("requestParameters", "versionId")
    return context
