"""One principal reading the user data of many EC2 instances, where start-up secrets often live."""

from iota_helpers import aws_rule_context, is_aws_service, is_iac_user_agent, principal


def rule(event):
    if event.get("eventSource") != "ec2.amazonaws.com" or event.get("eventName") != "DescribeInstanceAttribute":
        return False
    if event.deep_get("requestParameters", "attribute") != "userData":
        return False
    if is_aws_service(event):
        return False
    # Denied attempts count too: an attacker sweeping instances with a role that lacks the
    # permission is just as interesting. Infrastructure-as-code tools read every instance's
    # user data when they refresh state; their calls are excluded by user agent.
    return not is_iac_user_agent(event)


def unique(event):
    return str(event.deep_get("requestParameters", "instanceId", default=event.get("eventID")))


def title(event):
    return f"{principal(event)} read the user data of many EC2 instances in {event.get('awsRegion')}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('userIdentity', 'arn')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["instance_id"] = event.deep_get("requestParameters", "instanceId")
    return context
