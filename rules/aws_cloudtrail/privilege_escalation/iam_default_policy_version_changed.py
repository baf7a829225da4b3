"""A managed policy rolled to another existing version (SetDefaultPolicyVersion): an older,
broader version can be reactivated without writing any new policy text."""

from iota_helpers import aws_rule_context, is_aws_service, principal


def rule(event):
    if event.get("eventSource") != "iam.amazonaws.com" or event.get("eventName") != "SetDefaultPolicyVersion":
        return False
    # CloudFormation and other services roll versions as part of their own updates.
    if is_aws_service(event):
        return False
    # Customer managed policies only: AWS managed policy versions cannot be changed.
    arn = event.deep_get("requestParameters", "policyArn")
    return not (isinstance(arn, str) and ":iam::aws:policy/" in arn)


def title(event):
    arn = event.deep_get("requestParameters", "policyArn", default="<unknown policy>")
    version = event.deep_get("requestParameters", "versionId", default="?")
    outcome = "tried to switch" if event.get("errorCode") else "switched"
    return f"{principal(event)} {outcome} policy {arn.rsplit('/', 1)[-1]} to version {version}"


def severity(event):
    return "LOW" if event.get("errorCode") else "DEFAULT"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('requestParameters', 'policyArn')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["policy_arn"] = event.deep_get("requestParameters", "policyArn")
    context["version_id"] = event.deep_get("requestParameters", "versionId")
    return context
