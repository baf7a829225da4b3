"""A principal granting permissions to itself: an IAM user attaching or writing a policy on its
own user or joining a group, or a role session doing the same on its own role."""

from iota_helpers import aws_rule_context, is_aws_service, principal

USER_CALLS = {"PutUserPolicy", "AttachUserPolicy", "AddUserToGroup", "DeleteUserPermissionsBoundary"}
ROLE_CALLS = {"PutRolePolicy", "AttachRolePolicy", "DeleteRolePermissionsBoundary"}


def _self_target(event):
    """The caller's own user or role name when the call targets it, else None."""
    name = event.get("eventName")
    kind = event.deep_get("userIdentity", "type")
    if name in USER_CALLS and kind == "IAMUser":
        me = event.deep_get("userIdentity", "userName")
        if me and event.deep_get("requestParameters", "userName") == me:
            return f"user {me}"
    if name in ROLE_CALLS and kind == "AssumedRole":
        me = event.deep_get("userIdentity", "sessionContext", "sessionIssuer", "userName")
        if me and event.deep_get("requestParameters", "roleName") == me:
            return f"role {me}"
    return None


def rule(event):
    if event.get("eventSource") != "iam.amazonaws.com" or event.get("eventName") not in USER_CALLS | ROLE_CALLS:
        return False
    if is_aws_service(event):
        return False
    # Denied attempts are kept: probing whether it can escalate is the signal.
    return _self_target(event) is not None


def _grant(event):
    params = event.get("requestParameters") or {}
    arn = params.get("policyArn")
    if isinstance(arn, str) and arn:
        return arn.rsplit("/", 1)[-1]
    return params.get("policyName") or params.get("groupName") or "its permissions boundary"


def title(event):
    name = event.get("eventName")
    failed = bool(event.get("errorCode"))
    target = _self_target(event)
    if name.startswith("Delete"):
        action = f"remove the permissions boundary of its own {target}"
    elif name.startswith("Attach"):
        action = f"attach policy {_grant(event)} to its own {target}"
    elif name.startswith("Put"):
        action = f"write inline policy {_grant(event)} on its own {target}"
    else:  # AddUserToGroup
        action = f"add its own {target} to group {_grant(event)}"
    if failed:
        return f"{principal(event)} tried to {action}"
    past = {"remove": "removed", "attach": "attached", "write": "wrote", "add": "added"}
    verb, rest = action.split(" ", 1)
    return f"{principal(event)} {past[verb]} {rest}"


def severity(event):
    return "MEDIUM" if event.get("errorCode") else "DEFAULT"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{_self_target(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["self_target"] = _self_target(event)
    context["granted"] = _grant(event)
    context["policy_document"] = event.deep_get("requestParameters", "policyDocument")
    return context
