"""An EC2 instance's user data replaced (ModifyInstanceAttribute userData): code that runs as
root/SYSTEM the next time the instance starts."""

from iota_helpers import aws_rule_context, is_aws_service, principal


def _sets_user_data(event):
    params = event.get("requestParameters") or {}
    # Two request forms: the userData parameter, or attribute=userData with a value.
    return params.get("userData") is not None or params.get("attribute") == "userData"


def rule(event):
    if event.get("eventSource") != "ec2.amazonaws.com" or event.get("eventName") != "ModifyInstanceAttribute":
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False
    return _sets_user_data(event)


def title(event):
    instance = event.deep_get("requestParameters", "instanceId", default="<unknown instance>")
    return f"{principal(event)} replaced the user data of EC2 instance {instance}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('requestParameters', 'instanceId')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["instance_id"] = event.deep_get("requestParameters", "instanceId")
    return context
