"""An AWS Config recorder or delivery channel changed, stopped or deleted (CIS 4.9)."""

from iota_helpers import aws_rule_context, is_aws_service, principal, principal_key

EVENT_NAMES = {
    # CIS 4.9 event set
    "PutConfigurationRecorder",
    "StopConfigurationRecorder",
    "PutDeliveryChannel",
    "DeleteDeliveryChannel",
    # removes the recorder outright
    "DeleteConfigurationRecorder",
}
REDUCING = {"StopConfigurationRecorder", "DeleteDeliveryChannel", "DeleteConfigurationRecorder"}



def rule(event):
    if event.get("eventSource") != "config.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    if event.get("errorCode"):
        return False
    return not is_aws_service(event)


def _target(event):
    return (
        event.deep_get("requestParameters", "configurationRecorderName")
        or event.deep_get("requestParameters", "configurationRecorder", "name")
        or event.deep_get("requestParameters", "deliveryChannelName")
        or event.deep_get("requestParameters", "deliveryChannel", "name")
        or "<unknown>"
    )


def title(event):
    return (
        f"{principal(event)} changed AWS Config in {event.get('awsRegion')}: "
        f"{event.get('eventName')} on {_target(event)}"
    )


def severity(event):
    return "MEDIUM" if event.get("eventName") in REDUCING else "DEFAULT"


def dedup(event):
    # The elevated changes get their own alert, so routine changes earlier in the hour cannot
    # hide them under a Low alert.
    kind = "reduces-recording" if event.get("eventName") in REDUCING else "routine"
    return f"{event.get('recipientAccountId')}:{principal_key(event)}:{kind}"


def alert_context(event):
    context = aws_rule_context(event)
    context["recorder_or_channel"] = _target(event)
    context["reduces_recording"] = event.get("eventName") in REDUCING
    return context
