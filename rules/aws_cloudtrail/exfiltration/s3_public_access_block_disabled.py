"""S3 Block Public Access removed or weakened, for a bucket or for the whole account."""

from iota_helpers import aws_rule_context, is_true, principal

SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
DELETES = {"DeleteBucketPublicAccessBlock", "DeleteAccountPublicAccessBlock", "DeletePublicAccessBlock"}
PUTS = {"PutBucketPublicAccessBlock", "PutAccountPublicAccessBlock", "PutPublicAccessBlock"}


def _configuration(event):
    params = event.get("requestParameters") or {}
    config = params.get("PublicAccessBlockConfiguration")
    if config is None and hasattr(params.get("PublicAccessBlock"), "get"):
        config = params.get("PublicAccessBlock").get("PublicAccessBlockConfiguration")
    return config if hasattr(config, "get") else None


def _disabled_settings(event):
    """The protections this call turns off (all of them for a delete)."""
    if event.get("eventName") in DELETES:
        return list(SETTINGS)
    config = _configuration(event)
    if config is None:
        return []
    # An omitted setting is false in the API.
    return [setting for setting in SETTINGS if not is_true(config.get(setting))]


def _account_level(event):
    return "Account" in (event.get("eventName") or "") or not event.deep_get("requestParameters", "bucketName")


def rule(event):
    if not str(event.get("eventSource") or "").startswith("s3"):
        return False
    if event.get("eventName") not in DELETES | PUTS:
        return False
    if event.get("errorCode"):
        return False
    return bool(_disabled_settings(event))


def severity(event):
    return "HIGH" if _account_level(event) else "DEFAULT"


def title(event):
    scope = (
        f"account {event.get('recipientAccountId')}"
        if _account_level(event)
        else f"bucket {event.deep_get('requestParameters', 'bucketName')}"
    )
    verb = "removed" if event.get("eventName") in DELETES else "weakened"
    return f"{principal(event)} {verb} S3 Block Public Access for {scope}"


def dedup(event):
    bucket = event.deep_get("requestParameters", "bucketName", default="<account>")
    return f"{event.get('recipientAccountId')}:{bucket}"


def alert_context(event):
    context = aws_rule_context(event)
    context["bucket"] = event.deep_get("requestParameters", "bucketName")
    context["account_level"] = _account_level(event)
    context["disabled_settings"] = _disabled_settings(event)
    return context
