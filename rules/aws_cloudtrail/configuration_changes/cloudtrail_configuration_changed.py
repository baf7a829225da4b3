"""A change to CloudTrail trails, event selectors or event data stores (CIS 4.5)."""

from iota_helpers import aws_rule_context, is_aws_service, principal, principal_key

EVENT_NAMES = {
    # CIS 4.5 event set
    "CreateTrail",
    "UpdateTrail",
    "DeleteTrail",
    "StartLogging",
    "StopLogging",
    # what a trail or event data store records, and who may write or read it
    "PutEventSelectors",
    "PutInsightSelectors",
    "CreateEventDataStore",
    "UpdateEventDataStore",
    "DeleteEventDataStore",
    "StartEventDataStoreIngestion",
    "StopEventDataStoreIngestion",
    "PutResourcePolicy",
    "DeleteResourcePolicy",
    "CreateChannel",
    "UpdateChannel",
    "DeleteChannel",
    "RegisterOrganizationDelegatedAdmin",
    "DeregisterOrganizationDelegatedAdmin",
}
# Changes that stop or remove recording outright.
REDUCING = {
    "StopLogging",
    "DeleteTrail",
    "DeleteEventDataStore",
    "StopEventDataStoreIngestion",
    "DeleteChannel",
    "DeregisterOrganizationDelegatedAdmin",
}



def rule(event):
    if event.get("eventSource") != "cloudtrail.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    if event.get("errorCode"):
        return False
    return not is_aws_service(event)


def _target(event):
    for key in ("name", "trailName", "eventDataStore", "channel", "resourceArn"):
        value = event.deep_get("requestParameters", key)
        if value:
            return value
    return event.deep_get("responseElements", "trailARN") or event.deep_get("responseElements", "eventDataStoreArn")


def title(event):
    target = _target(event) or "<unknown trail>"
    return f"{principal(event)} changed CloudTrail configuration: {event.get('eventName')} on {target}"


def severity(event):
    return "MEDIUM" if event.get("eventName") in REDUCING else "DEFAULT"


def dedup(event):
    # The elevated changes get their own alert, so routine changes earlier in the hour cannot
    # hide them under a Low alert.
    kind = "reduces-logging" if event.get("eventName") in REDUCING else "routine"
    return f"{event.get('recipientAccountId')}:{principal_key(event)}:{kind}"


def alert_context(event):
    context = aws_rule_context(event)
    context["trail_or_store"] = _target(event)
    context["reduces_logging"] = event.get("eventName") in REDUCING
    return context
