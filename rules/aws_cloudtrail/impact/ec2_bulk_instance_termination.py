"""A single TerminateInstances call that terminates many EC2 instances at once."""

from iota_helpers import aws_rule_context, ec2_items, is_aws_service, principal

MIN_INSTANCES = 10


def _instances(event):
    items = ec2_items(event, "requestParameters", "instancesSet")
    return [str(item.get("instanceId")) for item in items if item.get("instanceId")]


def rule(event):
    if event.get("eventSource") != "ec2.amazonaws.com" or event.get("eventName") != "TerminateInstances":
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False
    return len(_instances(event)) >= MIN_INSTANCES


def title(event):
    count = len(_instances(event))
    return f"{principal(event)} terminated {count} EC2 instances in one call in {event.get('awsRegion')}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('userIdentity', 'arn')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["instance_ids"] = _instances(event)
    context["instance_count"] = len(_instances(event))
    return context
