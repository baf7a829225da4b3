"""Repeated failed AWS console sign-ins for one user from one source IP address (CIS 4.6)."""

from iota_helpers import aws_rule_context, sign_in_user


def rule(event):
    if event.get("eventSource") != "signin.amazonaws.com" or event.get("eventName") != "ConsoleLogin":
        return False
    return event.deep_get("responseElements", "ConsoleLogin") == "Failure"


def _user(event):
    return sign_in_user(event) or "a user name that does not exist"


def title(event):
    return (
        f"Repeated failed console sign-ins for {_user(event)} in account "
        f"{event.get('recipientAccountId')} from {event.get('sourceIPAddress')}"
    )


def dedup(event):
    # One address failing for many different users is AWS.Console.PasswordSprayFromSourceIP.
    return f"{event.get('recipientAccountId')}:{event.get('sourceIPAddress')}:{_user(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["attempted_user"] = _user(event)
    context["login_to"] = event.deep_get("additionalEventData", "LoginTo")
    return context
