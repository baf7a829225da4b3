"""CloudTrail logging stopped, a trail deleted, or a CloudTrail Lake event data store stopped or
deleted: the classic first move to blind defenders."""

from iota_helpers import aws_rule_context, name_from_arn, principal

EVENT_NAMES = {"StopLogging", "DeleteTrail", "StopEventDataStoreIngestion", "DeleteEventDataStore"}


def _target(event):
    """The trail or event data store acted on, as a short name (ARNs are cut to the name)."""
    value = event.deep_get("requestParameters", "name") or event.deep_get(
        "requestParameters", "eventDataStore"
    )
    if not isinstance(value, str) or not value:
        return "<unknown>"
    return name_from_arn(value, ":trail/", ":eventdatastore/")


def rule(event):
    # Failed attempts are kept on purpose: trying to stop the audit trail is itself the signal.
    return event.get("eventSource") == "cloudtrail.amazonaws.com" and event.get("eventName") in EVENT_NAMES


def title(event):
    kind = "event data store" if "EventDataStore" in event.get("eventName", "") else "trail"
    outcome = "tried to run" if event.get("errorCode") else "ran"
    return f"{principal(event)} {outcome} {event.get('eventName')} on CloudTrail {kind} {_target(event)}"


def severity(event):
    # A failed attempt is still worth a look, but less urgent than a trail that went dark.
    return "MEDIUM" if event.get("errorCode") else "DEFAULT"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{_target(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["target"] = _target(event)
    return context
