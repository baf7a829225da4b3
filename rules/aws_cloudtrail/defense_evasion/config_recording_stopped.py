"""AWS Config recording stopped or its recorder or delivery channel deleted."""

from iota_helpers import aws_rule_context, is_aws_service, principal

EVENT_NAMES = {"StopConfigurationRecorder", "DeleteConfigurationRecorder", "DeleteDeliveryChannel"}


def _target(event):
    params = event.get("requestParameters") or {}
    return params.get("configurationRecorderName") or params.get("deliveryChannelName") or "<unknown>"


def rule(event):
    if event.get("eventSource") != "config.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    # Service-linked recorders are managed by the AWS service that owns them.
    return not event.get("errorCode") and not is_aws_service(event)


def title(event):
    return f"{principal(event)} ran {event.get('eventName')} on AWS Config {_target(event)} in {event.get('awsRegion')}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.get('awsRegion')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["config_resource"] = _target(event)
    return context
