"""One principal deleting many Secrets Manager secrets or SSM parameters in a short time."""

from iota_helpers import aws_rule_context, is_aws_service, is_true, principal

EVENTS = {
    "secretsmanager.amazonaws.com": {"DeleteSecret"},
    "ssm.amazonaws.com": {"DeleteParameter", "DeleteParameters"},
}


def _names(event):
    params = event.get("requestParameters") or {}
    if event.get("eventName") == "DeleteParameters":
        return [str(name) for name in (params.get("names") or [])]
    name = params.get("secretId") or params.get("name")
    return [str(name)] if name else []


def rule(event):
    if event.get("eventName") not in EVENTS.get(event.get("eventSource"), ()):
        return False
    return not (event.get("errorCode") or is_aws_service(event))


def unique(event):
    return ",".join(sorted(_names(event))) or str(event.get("eventID"))


def severity(event):
    # Without a recovery window a deleted secret is gone at once.
    forced = event.deep_get("requestParameters", "forceDeleteWithoutRecovery")
    return "CRITICAL" if is_true(forced) else "DEFAULT"


def title(event):
    return f"{principal(event)} deleted many secrets / SSM parameters in account {event.get('recipientAccountId')}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('userIdentity', 'arn')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["deleted"] = _names(event)
    context["force_delete_without_recovery"] = event.deep_get("requestParameters", "forceDeleteWithoutRecovery")
    context["recovery_window_days"] = event.deep_get("requestParameters", "recoveryWindowInDays")
    return context
