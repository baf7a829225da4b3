"""An account trying to leave the AWS Organization: it would escape the organization's guardrails."""

from iota_helpers import aws_rule_context, principal


def rule(event):
    return event.get("eventSource") == "organizations.amazonaws.com" and event.get("eventName") == "LeaveOrganization"


def severity(event):
    # A denied attempt signals intent (High); an account that actually left is out of reach of
    # SCPs, the organization trail and delegated security services.
    return "DEFAULT" if event.get("errorCode") else "CRITICAL"


def title(event):
    outcome = "tried to take" if event.get("errorCode") else "took"
    return f"{principal(event)} {outcome} account {event.get('recipientAccountId')} out of the organization"


def dedup(event):
    return str(event.get("recipientAccountId"))


def alert_context(event):
    context = aws_rule_context(event)
    context["access_key_id"] = event.deep_get("userIdentity", "accessKeyId")
    context["role_arn"] = event.deep_get("userIdentity", "sessionContext", "sessionIssuer", "arn")
    return context
