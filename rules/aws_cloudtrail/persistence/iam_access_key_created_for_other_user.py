"""An access key created for another IAM user: a common way to plant a persistent backdoor."""

from iota_helpers import acts_on_other_user, aws_rule_context, is_aws_service, principal


def rule(event):
    if event.get("eventSource") != "iam.amazonaws.com" or event.get("eventName") != "CreateAccessKey":
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False
    # Without userName the caller creates its own key. Users creating their own keys is routine;
    # keys for someone else is what backdoors look like.
    return acts_on_other_user(event)


def title(event):
    target = event.deep_get("requestParameters", "userName")
    return f"{principal(event)} created an access key for IAM user {target}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('requestParameters', 'userName')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["target_user"] = event.deep_get("requestParameters", "userName")
    context["access_key_id"] = event.deep_get("responseElements", "accessKey", "accessKeyId")
    return context
