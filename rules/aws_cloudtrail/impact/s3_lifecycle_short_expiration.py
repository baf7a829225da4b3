"""An S3 lifecycle rule that expires current objects within a few days: deletion by configuration."""

from iota_helpers import as_list, aws_rule_context, principal

MAX_DAYS = 3


def _days(value):
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _short_rules(event):
    """(rule id, scope, days) of each enabled rule expiring current objects within MAX_DAYS."""
    config = event.deep_get("requestParameters", "LifecycleConfiguration") or {}
    if not hasattr(config, "get"):
        return []
    found = []
    for entry in as_list(config.get("Rule")):
        if not hasattr(entry, "get") or str(entry.get("Status")) != "Enabled":
            continue
        expiration = entry.get("Expiration") or {}
        days = _days(expiration.get("Days")) if hasattr(expiration, "get") else None
        if days is None or days > MAX_DAYS:
            continue
        scope = entry.get("Prefix")
        filt = entry.get("Filter")
        if scope is None and hasattr(filt, "get"):
            scope = filt.get("Prefix")
            if scope is None and filt.get("And") is not None:
                scope = "<and filter>"
            elif scope is None and filt.get("Tag") is not None:
                scope = "<tag filter>"
        found.append({"id": entry.get("ID"), "scope": scope if scope else "<whole bucket>", "days": days})
    return found


def rule(event):
    if event.get("eventSource") != "s3.amazonaws.com":
        return False
    if event.get("eventName") not in ("PutBucketLifecycle", "PutBucketLifecycleConfiguration"):
        return False
    if event.get("errorCode"):
        return False
    return bool(_short_rules(event))


def title(event):
    bucket = event.deep_get("requestParameters", "bucketName", default="<unknown bucket>")
    days = min(entry["days"] for entry in _short_rules(event))
    return f"{principal(event)} set a lifecycle rule on S3 bucket {bucket} expiring objects after {days} day(s)"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('requestParameters', 'bucketName')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["bucket"] = event.deep_get("requestParameters", "bucketName")
    context["short_expiration_rules"] = _short_rules(event)
    return context
