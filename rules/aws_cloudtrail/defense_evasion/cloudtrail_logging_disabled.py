"""CloudTrail logging stopped or a trail deleted: the classic first move to blind defenders."""

from iota_helpers import aws_rule_context, principal

EVENT_NAMES = {"StopLogging", "DeleteTrail"}


def rule(event):
    return event.get("eventSource") == "cloudtrail.amazonaws.com" and event.get("eventName") in EVENT_NAMES


def title(event):
    trail = event.deep_get("requestParameters", "name", default="<unknown trail>")
    outcome = "tried to run" if event.get("errorCode") else "ran"
    return f"{principal(event)} {outcome} {event.get('eventName')} on CloudTrail trail {trail}"


def severity(event):
    # A failed attempt is still worth a look, but less urgent than a trail that went dark.
    return "MEDIUM" if event.get("errorCode") else "DEFAULT"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('requestParameters', 'name')}"


def alert_context(event):
    return aws_rule_context(event)
