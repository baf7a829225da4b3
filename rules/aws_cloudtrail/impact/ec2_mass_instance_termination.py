"""One principal terminating EC2 instances in many separate calls within a short time."""

from iota_helpers import aws_rule_context, ec2_items, is_aws_service, principal, principal_arn_matches

# Schedulers or cluster autoscalers that run as ordinary roles (Karpenter, CI runners),
# matched on userIdentity.arn (fnmatch). Empty by default.
ALLOWED_PRINCIPAL_ARNS = []


def allowed_principal_arns():
    """The allow-list (a function so that tests can mock it)."""
    return ALLOWED_PRINCIPAL_ARNS


def _instances(event):
    items = ec2_items(event, "requestParameters", "instancesSet")
    return [str(item.get("instanceId")) for item in items if item.get("instanceId")]


def rule(event):
    if event.get("eventSource") != "ec2.amazonaws.com" or event.get("eventName") != "TerminateInstances":
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False  # EC2 Auto Scaling, Spot, EKS node groups act as services
    return not principal_arn_matches(event, allowed_principal_arns())


def unique(event):
    return ",".join(sorted(_instances(event))) or str(event.get("eventID"))


def title(event):
    return f"{principal(event)} terminated EC2 instances in many calls in {event.get('awsRegion')}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('userIdentity', 'arn')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["instance_ids"] = _instances(event)
    return context
