"""A customer-managed KMS key disabled, scheduled for deletion, or its imported key material deleted."""

from iota_helpers import aws_rule_context, principal

EVENT_NAMES = {"DisableKey", "ScheduleKeyDeletion", "DeleteImportedKeyMaterial"}


def rule(event):
    if event.get("eventSource") != "kms.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    return not event.get("errorCode")


def severity(event):
    # Stack deletions remove the keys they created; still worth a look, less urgent.
    if event.deep_get("userIdentity", "invokedBy") == "cloudformation.amazonaws.com":
        return "MEDIUM"
    return "DEFAULT"


def _key(event):
    return (
        event.deep_get("responseElements", "keyId")
        or event.deep_get("requestParameters", "keyId")
        or "<unknown key>"
    )


def title(event):
    verbs = {
        "DisableKey": "disabled",
        "ScheduleKeyDeletion": "scheduled the deletion of",
        "DeleteImportedKeyMaterial": "deleted the imported key material of",
    }
    return f"{principal(event)} {verbs[event.get('eventName')]} KMS key {_key(event)}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{_key(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["key"] = _key(event)
    context["pending_window_days"] = event.deep_get("requestParameters", "pendingWindowInDays")
    context["deletion_date"] = event.deep_get("responseElements", "deletionDate")
    return context
