"""An account trying to leave the AWS Organization: it would escape the organization's guardrails."""

from iota_helpers import aws_rule_context, principal


def rule(event):
    return event.get("eventSource") == "organizations.amazonaws.com" and event.get("eventName") == "LeaveOrganization"


def title(event):
    outcome = "tried to take" if event.get("errorCode") else "took"
    return f"{principal(event)} {outcome} account {event.get('recipientAccountId')} out of the organization"


def dedup(event):
    return str(event.get("recipientAccountId"))


def alert_context(event):
    return aws_rule_context(event)
