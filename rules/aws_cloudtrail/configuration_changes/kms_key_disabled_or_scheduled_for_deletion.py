"""A customer managed KMS key disabled or scheduled for deletion (CIS 4.7)."""

from iota_helpers import aws_rule_context, is_aws_service, principal

EVENT_NAMES = {"DisableKey", "ScheduleKeyDeletion"}



def rule(event):
    if event.get("eventSource") != "kms.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    if event.get("errorCode"):
        return False
    return not is_aws_service(event)


def _key(event):
    return (
        event.deep_get("responseElements", "keyId")
        or event.deep_walk("resources", "ARN", return_val="first")
        or event.deep_get("requestParameters", "keyId")
    )


def title(event):
    if event.get("eventName") == "ScheduleKeyDeletion":
        days = event.deep_get("responseElements", "pendingWindowInDays") or event.deep_get(
            "requestParameters", "pendingWindowInDays"
        )
        window = f" in {days} days" if days else ""
        return f"{principal(event)} scheduled KMS key {_key(event)} for deletion{window}"
    return f"{principal(event)} disabled KMS key {_key(event)}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{_key(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["key"] = _key(event)
    context["deletion_date"] = event.deep_get("responseElements", "deletionDate")
    context["pending_window_days"] = event.deep_get("responseElements", "pendingWindowInDays")
    return context
