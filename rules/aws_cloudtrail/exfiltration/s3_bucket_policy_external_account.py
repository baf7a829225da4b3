"""An S3 bucket policy that grants access to a principal of another AWS account."""

from iota_helpers import as_list, aws_rule_context, is_external_account, policy_statements, principal, principal_account

# Accounts that may legitimately be granted access (log archive, analytics, partners).
TRUSTED_ACCOUNT_IDS = set()


def trusted_account_ids():
    """The trusted accounts (a function so that tests can mock it)."""
    return TRUSTED_ACCOUNT_IDS


def _external_accounts(event):
    found = []
    for statement in policy_statements(event.deep_get("requestParameters", "bucketPolicy"), effect="Allow"):
        grantee = statement.get("Principal")
        if not hasattr(grantee, "get"):
            continue  # "*" is the public-bucket rule's business
        for value in as_list(grantee.get("AWS")):
            # "*", CloudFront OAI users, ... are not accounts
            account = principal_account(str(value))
            if is_external_account(account, event, trusted_account_ids()) and account not in found:
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
