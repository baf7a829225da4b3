"""Objects rewritten with SSE-C or a foreign KMS key: the S3 ransomware pattern (data events)."""

from iota_helpers import arn_account, aws_rule_context, is_aws_service, is_external_account, principal, principal_arn_matches

EVENT_NAMES = {"PutObject", "CopyObject", "CreateMultipartUpload"}
SSE_C_HEADER = "x-amz-server-side-encryption-customer-algorithm"
KMS_KEY_HEADER = "x-amz-server-side-encryption-aws-kms-key-id"

# Principals whose applications use SSE-C by design, matched on userIdentity.arn (fnmatch).
ALLOWED_PRINCIPAL_ARNS = []


def allowed_principal_arns():
    """The allow-list (a function so that tests can mock it)."""
    return ALLOWED_PRINCIPAL_ARNS


def _field(event, name):
    return event.deep_get("requestParameters", name) or event.deep_get("responseElements", name)


def _method(event):
    """"SSE-C", "KMS key of account N", or None."""
    if _field(event, SSE_C_HEADER) or event.deep_get("additionalEventData", "SSEApplied") == "SSE_C":
        return "SSE-C (customer-provided key)"
    owner = arn_account(_field(event, KMS_KEY_HEADER), "kms")
    if is_external_account(owner, event):
        return f"KMS key of account {owner}"
    return None


def rule(event):
    if event.get("eventSource") != "s3.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False
    if _method(event) is None:
        return False
    return not principal_arn_matches(event, allowed_principal_arns())


def unique(event):
    return str(event.deep_get("requestParameters", "key", default=event.get("eventID")))


def title(event):
    bucket = event.deep_get("requestParameters", "bucketName", default="<unknown bucket>")
    return f"{principal(event)} rewrote objects in S3 bucket {bucket} with {_method(event)}"


def dedup(event):
    return (
        f"{event.get('recipientAccountId')}:{event.deep_get('userIdentity', 'arn')}:"
        f"{event.deep_get('requestParameters', 'bucketName')}"
    )


def alert_context(event):
    context = aws_rule_context(event)
    context["bucket"] = event.deep_get("requestParameters", "bucketName")
    context["key"] = event.deep_get("requestParameters", "key")
    context["copy_source"] = event.deep_get("requestParameters", "x-amz-copy-source")
    context["encryption"] = _method(event)
    return context
