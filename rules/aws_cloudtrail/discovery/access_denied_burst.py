"""One principal denied on many different read-only APIs: probing what stolen credentials can do."""

import re

from iota_helpers import aws_rule_context, is_aws_service, principal

READ_API = re.compile(r"^(List|Describe|Get|Search|Lookup|BatchGet)[A-Z]")
DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "Client.UnauthorizedOperation",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "Client.AccessDenied",
}


def rule(event):
    if event.get("errorCode") not in DENIED:
        return False
    if not READ_API.match(event.get("eventName") or ""):
        return False
    if is_aws_service(event) or event.deep_get("userIdentity", "type") == "AWSService":
        return False
    # Console pages probe many APIs for the signed-in person and show what is denied; that
    # is noise, not an attacker mapping permissions.
    return event.get("sessionCredentialFromConsole") != "true"


def unique(event):
    return f"{event.get('eventSource')}:{event.get('eventName')}"


def title(event):
    return (
        f"{principal(event)} was denied on many different discovery APIs in account "
        f"{event.get('recipientAccountId')}"
    )


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('userIdentity', 'arn')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["access_key_id"] = event.deep_get("userIdentity", "accessKeyId")
    return context
