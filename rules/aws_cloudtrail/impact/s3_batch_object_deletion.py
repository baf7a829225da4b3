"""One principal sending many multi-object DeleteObjects requests (up to 1,000 keys each)."""

from iota_helpers import aws_rule_context, is_aws_service, principal, principal_arn_matches

# Cleanup jobs expected to delete many objects, matched on userIdentity.arn (fnmatch).
ALLOWED_PRINCIPAL_ARNS = []


def allowed_principal_arns():
    """The allow-list (a function so that tests can mock it)."""
    return ALLOWED_PRINCIPAL_ARNS


def rule(event):
    if event.get("eventSource") != "s3.amazonaws.com" or event.get("eventName") != "DeleteObjects":
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False  # lifecycle expirations are not API calls; replication / batch jobs are services
    return not principal_arn_matches(event, allowed_principal_arns())


def title(event):
    return (
        f"{principal(event)} deleted S3 objects in batches (DeleteObjects) in account "
        f"{event.get('recipientAccountId')}"
    )


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('userIdentity', 'arn')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["bucket"] = event.deep_get("requestParameters", "bucketName")
    context["bytes_transferred_in"] = event.deep_get("additionalEventData", "bytesTransferredIn")
    return context
