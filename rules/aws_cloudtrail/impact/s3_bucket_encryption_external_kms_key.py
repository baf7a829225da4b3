"""Default encryption of an S3 bucket switched to a KMS key owned by another AWS account."""

from iota_helpers import arn_account, as_list, aws_rule_context, is_external_account, principal

# Accounts whose KMS keys you use on purpose (a central key-management account).
TRUSTED_ACCOUNT_IDS = set()


def trusted_account_ids():
    """The trusted accounts (a function so that tests can mock it)."""
    return TRUSTED_ACCOUNT_IDS


def _keys(event):
    rules = event.deep_get("requestParameters", "ServerSideEncryptionConfiguration", "Rule")
    keys = []
    for entry in as_list(rules):
        if not hasattr(entry, "get"):
            continue
        default = entry.get("ApplyServerSideEncryptionByDefault") or {}
        if hasattr(default, "get") and default.get("KMSMasterKeyID"):
            keys.append(str(default.get("KMSMasterKeyID")))
    return keys


def _external_keys(event):
    # A bare key id or alias name always refers to the bucket owner's own account.
    return [
        key for key in _keys(event) if is_external_account(arn_account(key, "kms"), event, trusted_account_ids())
    ]


def rule(event):
    if event.get("eventSource") != "s3.amazonaws.com" or event.get("eventName") != "PutBucketEncryption":
        return False
    if event.get("errorCode"):
        return False
    return bool(_external_keys(event))


def title(event):
    bucket = event.deep_get("requestParameters", "bucketName", default="<unknown bucket>")
    key = _external_keys(event)[0]
    return f"{principal(event)} set the default encryption of S3 bucket {bucket} to KMS key {key} of another account"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('requestParameters', 'bucketName')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["bucket"] = event.deep_get("requestParameters", "bucketName")
    context["external_kms_keys"] = _external_keys(event)
    return context
