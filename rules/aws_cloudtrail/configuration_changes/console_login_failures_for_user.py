"""Failed AWS console sign-ins for one user coming from several source IP addresses (CIS 4.6)."""

from iota_helpers import aws_rule_context, sign_in_user


def rule(event):
    if event.get("eventSource") != "signin.amazonaws.com" or event.get("eventName") != "ConsoleLogin":
        return False
    return event.deep_get("responseElements", "ConsoleLogin") == "Failure"


def _user(event):
    return sign_in_user(event) or "a user name that does not exist"


def unique(event):
    # Distinct source addresses: one address failing repeatedly is the per-IP rule's case.
    return str(event.get("sourceIPAddress"))


def title(event):
    return (
        f"Failed console sign-ins for {_user(event)} in account {event.get('recipientAccountId')} "
        f"from several IP addresses"
    )


def dedup(event):
    return f"{event.get('recipientAccountId')}:{_user(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["attempted_user"] = _user(event)
    context["login_to"] = event.deep_get("additionalEventData", "LoginTo")
    return context
