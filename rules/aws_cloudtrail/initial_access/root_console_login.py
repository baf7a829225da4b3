"""A console sign-in (or attempt) with the account's root user."""

from iota_helpers import aws_rule_context


def _succeeded(event):
    return event.deep_get("responseElements", "ConsoleLogin") == "Success"


def rule(event):
    if event.get("eventSource") != "signin.amazonaws.com" or event.get("eventName") != "ConsoleLogin":
        return False
    return event.deep_get("userIdentity", "type") == "Root"


def severity(event):
    # A failed attempt means someone has the root e-mail address; a success means they own it.
    return "DEFAULT" if _succeeded(event) else "MEDIUM"


def title(event):
    outcome = "signed in" if _succeeded(event) else "failed to sign in"
    mfa = event.deep_get("additionalEventData", "MFAUsed")
    mfa_text = " without MFA" if _succeeded(event) and mfa == "No" else ""
    return (
        f"Root user of account {event.get('recipientAccountId')} {outcome} to the console{mfa_text} "
        f"from {event.get('sourceIPAddress')}"
    )


def dedup(event):
    return f"{event.get('recipientAccountId')}:{'success' if _succeeded(event) else 'failure'}"


def alert_context(event):
    context = aws_rule_context(event)
    context["login_result"] = event.deep_get("responseElements", "ConsoleLogin")
    context["mfa_used"] = event.deep_get("additionalEventData", "MFAUsed")
    context["login_to"] = event.deep_get("additionalEventData", "LoginTo")
    return context
