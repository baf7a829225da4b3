"""Failed console sign-ins for many different users from one source address: password spraying."""

from iota_helpers import aws_rule_context, sign_in_user


def _user(event):
    # CloudTrail hides names that do not exist in the account; they all count as one.
    return sign_in_user(event) or "<user name that does not exist>"


def rule(event):
    if event.get("eventSource") != "signin.amazonaws.com" or event.get("eventName") != "ConsoleLogin":
        return False
    return event.deep_get("responseElements", "ConsoleLogin") == "Failure"


def unique(event):
    # Distinct user names: one address trying a few passwords against many users is spraying;
    # many failures against one user are the CIS 4.6 brute-force monitors' business.
    return _user(event)


def title(event):
    return (
        f"Console sign-ins failed for many different users from {event.get('sourceIPAddress')} "
        f"in account {event.get('recipientAccountId')}"
    )


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.get('sourceIPAddress')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["attempted_user"] = _user(event)
    return context
