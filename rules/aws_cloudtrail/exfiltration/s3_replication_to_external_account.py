"""S3 replication configured towards a bucket in another (or an unstated) AWS account."""

from iota_helpers import as_list, aws_rule_context, is_external_account, principal

# Accounts you replicate to on purpose (backup / DR accounts).
TRUSTED_ACCOUNT_IDS = set()


def trusted_account_ids():
    """The trusted accounts (a function so that tests can mock it)."""
    return TRUSTED_ACCOUNT_IDS


def _destinations(event):
    """(bucket ARN, destination account or None) for every enabled replication rule."""
    rules = event.deep_get("requestParameters", "ReplicationConfiguration", "Rule")
    found = []
    for entry in as_list(rules):
        if not hasattr(entry, "get") or str(entry.get("Status", "Enabled")) != "Enabled":
            continue
        destination = entry.get("Destination") or {}
        if not hasattr(destination, "get"):
            continue
        account = destination.get("Account")
        found.append((str(destination.get("Bucket")), str(account) if account else None))
    return found


def _external(event):
    return [
        (bucket, account)
        for bucket, account in _destinations(event)
        if is_external_account(account, event, trusted_account_ids())
    ]


def _unstated(event):
    return [(bucket, account) for bucket, account in _destinations(event) if account is None]


def rule(event):
    if event.get("eventSource") != "s3.amazonaws.com" or event.get("eventName") != "PutBucketReplication":
        return False
    if event.get("errorCode"):
        return False
    return bool(_external(event) or _unstated(event))


def severity(event):
    # A named foreign account is a clear signal; a destination without an account (a bucket
    # ARN carries none) needs a look at who owns the bucket.
    return "DEFAULT" if _external(event) else "LOW"


def title(event):
    bucket = event.deep_get("requestParameters", "bucketName", default="<unknown bucket>")
    external = _external(event)
    if external:
        targets = ", ".join(f"{dest} (account {account})" for dest, account in external)
    else:
        targets = ", ".join(dest for dest, _ in _unstated(event)) + " (destination account not stated)"
    return f"{principal(event)} set up replication of S3 bucket {bucket} to {targets}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('requestParameters', 'bucketName')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["bucket"] = event.deep_get("requestParameters", "bucketName")
    context["replication_role"] = event.deep_get("requestParameters", "ReplicationConfiguration", "Role")
    context["destinations"] = [{"bucket": b, "account": a} for b, a in _destinations(event)]
    return context
