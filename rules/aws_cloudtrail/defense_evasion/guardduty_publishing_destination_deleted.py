"""A GuardDuty publishing destination deleted: findings stop being exported to S3."""

from iota_helpers import aws_rule_context, is_aws_service, principal


def rule(event):
    if event.get("eventSource") != "guardduty.amazonaws.com" or event.get("eventName") != "DeletePublishingDestination":
        return False
    return not event.get("errorCode") and not is_aws_service(event)


def title(event):
    destination = event.deep_get("requestParameters", "destinationId", default="<unknown>")
    detector = event.deep_get("requestParameters", "detectorId", default="<unknown>")
    return (
        f"{principal(event)} deleted publishing destination {destination} of GuardDuty detector "
        f"{detector} in {event.get('awsRegion')}"
    )


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.get('awsRegion')}:{event.deep_get('requestParameters', 'detectorId')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["detector_id"] = event.deep_get("requestParameters", "detectorId")
    context["destination_id"] = event.deep_get("requestParameters", "destinationId")
    return context
