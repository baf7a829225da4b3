"""An S3 bucket policy that grants access to a principal of another AWS account."""

import re

from iota_helpers import aws_rule_context, principal

ACCOUNT_IN_ARN = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):")
BARE_ACCOUNT = re.compile(r"^\d{12}$")

# Accounts that may legitimately be granted access (log archive, analytics, partners).
TRUSTED_ACCOUNT_IDS = set()


def trusted_account_ids():
    """The trusted accounts (a function so that tests can mock it)."""
    return TRUSTED_ACCOUNT_IDS


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, str) or hasattr(value, "keys"):
        return [value]
    return list(value)


def _account_of(value):
    value = str(value)
    if BARE_ACCOUNT.match(value):
        return value
    match = ACCOUNT_IN_ARN.match(value)
    return match.group(1) if match else None  # "*", CloudFront OAI users, ... are not accounts


def _external_accounts(event):
    policy = event.deep_get("requestParameters", "bucketPolicy") or {}
    if not hasattr(policy, "get"):
        return []
    own = str(event.get("recipientAccountId"))
    found = []
    for statement in _as_list(policy.get("Statement")):
        if not hasattr(statement, "get") or statement.get("Effect") != "Allow":
            continue
        grantee = statement.get("Principal")
        if not hasattr(grantee, "get"):
            continue  # "*" is the public-bucket rule's business
        for value in _as_list(grantee.get("AWS")):
            account = _account_of(value)
            if account and account != own and account not in trusted_account_ids() and account not in found:
                found.append(account)
    return found


def rule(event):
    if event.get("eventSource") != "s3.amazonaws.com" or event.get("eventName") != "PutBucketPolicy":
        return False
    if event.get("errorCode"):
        return False
    return bool(_external_accounts(event))


def title(event):
    bucket = event.deep_get("requestParameters", "bucketName", default="<unknown bucket>")
    accounts = ", ".join(_external_accounts(event))
    return f"{principal(event)} granted account(s) {accounts} access to S3 bucket {bucket}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('requestParameters', 'bucketName')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["bucket"] = event.deep_get("requestParameters", "bucketName")
    context["external_accounts"] = _external_accounts(event)
    return context
