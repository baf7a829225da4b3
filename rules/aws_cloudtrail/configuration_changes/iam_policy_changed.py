"""A change to IAM policies: managed policy versions, inline policies, attachments (CIS 4.4)."""

from iota_helpers import aws_rule_context, is_aws_service, principal, principal_key

EVENT_NAMES = {
    # CIS 4.4 event set
    "CreatePolicy",
    "DeletePolicy",
    "CreatePolicyVersion",
    "DeletePolicyVersion",
    "PutGroupPolicy",
    "PutRolePolicy",
    "PutUserPolicy",
    "DeleteGroupPolicy",
    "DeleteRolePolicy",
    "DeleteUserPolicy",
    "AttachGroupPolicy",
    "AttachRolePolicy",
    "AttachUserPolicy",
    "DetachGroupPolicy",
    "DetachRolePolicy",
    "DetachUserPolicy",
    # same effect on permissions, not in the CIS list
    "SetDefaultPolicyVersion",
    "PutRolePermissionsBoundary",
    "PutUserPermissionsBoundary",
    "DeleteRolePermissionsBoundary",
    "DeleteUserPermissionsBoundary",
}



def rule(event):
    if event.get("eventSource") != "iam.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    if event.get("errorCode"):
        return False
    return not is_aws_service(event)


def _policy(event):
    return (
        event.deep_get("requestParameters", "policyArn")
        or event.deep_get("responseElements", "policy", "arn")
        or event.deep_get("requestParameters", "policyName")
        or event.deep_get("requestParameters", "permissionsBoundary")
    )


def _holder(event):
    for key, kind in (("roleName", "role"), ("userName", "user"), ("groupName", "group")):
        name = event.deep_get("requestParameters", key)
        if name:
            return f"{kind} {name}"
    return None


def title(event):
    policy = _policy(event) or "a policy"
    holder = _holder(event)
    where = f" on {holder}" if holder else ""
    return f"{principal(event)} changed IAM policy {policy}{where} ({event.get('eventName')})"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{principal_key(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["policy"] = _policy(event)
    context["attached_to"] = _holder(event)
    context["policy_document"] = event.deep_get("requestParameters", "policyDocument")
    return context
