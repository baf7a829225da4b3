"""A successful AWS console sign-in by an IAM user or the root user without MFA (CIS 4.2)."""

from iota_helpers import aws_rule_context, principal, principal_key

# Federated (SAML/OIDC role) and IAM Identity Center sign-ins authenticate, and enforce MFA, at
# the identity provider: CloudTrail records MFAUsed "No" for them, so only password-based
# identities are judged here.
PASSWORD_IDENTITIES = {"IAMUser", "Root"}


def rule(event):
    if event.get("eventSource") != "signin.amazonaws.com" or event.get("eventName") != "ConsoleLogin":
        return False
    if event.deep_get("responseElements", "ConsoleLogin") != "Success":
        return False
    if event.deep_get("userIdentity", "type") not in PASSWORD_IDENTITIES:
        return False
    return event.deep_get("additionalEventData", "MFAUsed") != "Yes"


def title(event):
    return (
        f"{principal(event)} signed in to the AWS console of account "
        f"{event.get('recipientAccountId')} without MFA from {event.get('sourceIPAddress')}"
    )


def dedup(event):
    return f"{event.get('recipientAccountId')}:{principal_key(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["login_to"] = event.deep_get("additionalEventData", "LoginTo")
    context["mobile"] = event.deep_get("additionalEventData", "MobileVersion")
    return context
