"""One principal denied on many different AWS API calls in a short time (CIS 4.1)."""

import json
import re

from iota_helpers import aws_rule_context, is_aws_service, plain, principal, principal_key

# The CIS metric filter matches errorCode "*UnauthorizedOperation" or "AccessDenied*"; these
# are the values AWS services actually write.
DENIED_CODES = {
    "AccessDenied",
    "AccessDeniedException",
    "AccessDeniedForDependencyException",
    "Client.UnauthorizedOperation",
    "UnauthorizedOperation",
}
# HeadBucket is excluded by the CIS filter itself: SDKs probe buckets with it all the time.
IGNORED_EVENTS = {"HeadBucket"}

_ON_RESOURCE = re.compile(r" on resource: (\S+)")
_ACTION = re.compile(r"perform: (\S+)")



def _from_console(event):
    return event.get("sessionCredentialFromConsole") == "true"


def rule(event):
    if event.get("errorCode") not in DENIED_CODES:
        return False
    if event.get("eventName") in IGNORED_EVENTS:
        return False
    # Anonymous S3 requests (internet scanners probing bucket names) are not an identity of ours.
    if event.deep_get("userIdentity", "accountId") == "ANONYMOUS_PRINCIPAL":
        return False
    return not is_aws_service(event)


def unique(event):
    # Count distinct denied operations, not denied events: SDK retries, IAM eventual-consistency
    # loops and console pages polling the same call repeat one operation many times, while a
    # principal probing its permissions (or misusing stolen credentials) hits many.
    match = _ON_RESOURCE.search(event.get("errorMessage") or "")
    if match:
        target = match.group(1)
    else:
        target = json.dumps(plain(event.get("requestParameters")), sort_keys=True, default=str)[:512]
    return f"{event.get('eventSource')}:{event.get('eventName')}:{target}"


def title(event):
    source = str(event.get("eventSource") or "").replace(".amazonaws.com", "")
    return (
        f"{principal(event)} was denied many different AWS API calls "
        f"in account {event.get('recipientAccountId')} (first: {source}:{event.get('eventName')})"
    )


def severity(event):
    # Console pages fetch optional data the user may not be allowed to read; the same burst from
    # a console session is far more often a limited user browsing than an attacker.
    return "INFO" if _from_console(event) else "DEFAULT"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{principal_key(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    message = event.get("errorMessage") or ""
    action = _ACTION.search(message)
    resource = _ON_RESOURCE.search(message)
    context["denied_action"] = action.group(1) if action else None
    context["denied_resource"] = resource.group(1) if resource else None
    context["console_session"] = _from_console(event)
    return context
