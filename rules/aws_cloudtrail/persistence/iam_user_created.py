"""An IAM user created by a person or script rather than by CloudFormation or another service."""

from iota_helpers import aws_rule_context, is_aws_service, principal


def rule(event):
    if event.get("eventSource") != "iam.amazonaws.com" or event.get("eventName") != "CreateUser":
        return False
    # Users declared in CloudFormation stacks are created by the service (invokedBy).
    return not event.get("errorCode") and not is_aws_service(event)


def title(event):
    user = event.deep_get("requestParameters", "userName", default="<unknown>")
    return f"{principal(event)} created IAM user {user}"


def severity(event):
    # Day-to-day administration never needs the root user; a user created by root is not routine.
    return "HIGH" if event.deep_get("userIdentity", "type") == "Root" else "DEFAULT"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{principal(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["new_user"] = event.deep_get("requestParameters", "userName")
    context["new_user_arn"] = event.deep_get("responseElements", "user", "arn")
    context["permissions_boundary"] = event.deep_get("requestParameters", "permissionsBoundary")
    return context
