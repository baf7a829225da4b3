"""Any activity by the root user of an account that AWS itself did not initiate (CIS 4.3)."""

from iota_helpers import aws_rule_context


def rule(event):
    if event.deep_get("userIdentity", "type") != "Root":
        return False
    # Root console sign-ins (and failed attempts) are reported by AWS.Console.RootLogin; this rule
    # reports what the root user does.
    if event.get("eventSource") == "signin.amazonaws.com" and event.get("eventName") == "ConsoleLogin":
        return False
    # As in the CIS filter: calls a service made on the root user's behalf carry invokedBy, and
    # AwsServiceEvent records are AWS's own actions in the account.
    if event.deep_get("userIdentity", "invokedBy"):
        return False
    return event.get("eventType") != "AwsServiceEvent"


def _failed(event):
    return bool(event.get("errorCode"))


def title(event):
    verb = "tried" if _failed(event) else "used"
    return (
        f"Root user of account {event.get('recipientAccountId')} {verb} {event.get('eventName')} "
        f"from {event.get('sourceIPAddress')}"
    )


def severity(event):
    # A rejected root call is an attempt, not yet use of the account's master key.
    return "MEDIUM" if _failed(event) else "DEFAULT"


def dedup(event):
    # Attempts and actual use are separate alerts: a rejected call just before successful ones
    # must not leave the session filed under a Medium alert.
    kind = "attempt" if _failed(event) else "use"
    return f"{event.get('recipientAccountId')}:{kind}"


def alert_context(event):
    context = aws_rule_context(event)
    context["access_key_id"] = event.deep_get("userIdentity", "accessKeyId")
    context["console_session"] = event.get("sessionCredentialFromConsole") == "true"
    # Set for sessions opened with sts:AssumeRoot (centralized root access) from the management account.
    context["in_scope_of"] = event.deep_get("userIdentity", "inScopeOf")
    if hasattr(context["in_scope_of"], "to_dict"):
        context["in_scope_of"] = context["in_scope_of"].to_dict()
    return context
