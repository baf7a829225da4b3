"""Amazon Inspector, Macie, Detective or IAM Access Analyzer switched off or deleted."""

from iota_helpers import aws_rule_context, is_aws_service, principal

# (eventSource, eventName) -> what was turned off.
CHANGES = {
    ("inspector2.amazonaws.com", "Disable"): "disabled Amazon Inspector scanning",
    ("macie2.amazonaws.com", "DisableMacie"): "disabled Amazon Macie",
    ("macie2.amazonaws.com", "UpdateMacieSession"): "paused Amazon Macie",
    ("detective.amazonaws.com", "DeleteGraph"): "deleted the Amazon Detective behavior graph",
    ("access-analyzer.amazonaws.com", "DeleteAnalyzer"): "deleted IAM Access Analyzer analyzer",
}


def rule(event):
    key = (event.get("eventSource"), event.get("eventName"))
    if key not in CHANGES:
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False
    if key[1] == "UpdateMacieSession":
        # Only a pause is a switch-off; the same call changes the publishing frequency.
        return event.deep_get("requestParameters", "status") == "PAUSED"
    return True


def _target(event):
    params = event.get("requestParameters") or {}
    for key in ("analyzerName", "GraphArn", "graphArn", "resourceTypes"):
        value = params.get(key)
        if value:
            return value if isinstance(value, str) else ", ".join(str(v) for v in value)
    return None


def title(event):
    change = CHANGES[(event.get("eventSource"), event.get("eventName"))]
    target = _target(event)
    suffix = f" {target}" if target else ""
    return f"{principal(event)} {change}{suffix} in {event.get('awsRegion')}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.get('awsRegion')}:{event.get('eventSource')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["change"] = CHANGES[(event.get("eventSource"), event.get("eventName"))]
    context["target"] = _target(event)
    return context
