"""A permissions boundary removed from a user or role, or replaced by AdministratorAccess:
the ceiling on that identity's permissions is gone."""

from iota_helpers import aws_rule_context, is_aws_service, principal

DELETE = {"DeleteUserPermissionsBoundary", "DeleteRolePermissionsBoundary"}
PUT = {"PutUserPermissionsBoundary", "PutRolePermissionsBoundary"}


def _target(event):
    params = event.get("requestParameters") or {}
    if params.get("userName"):
        return f"user {params.get('userName')}"
    if params.get("roleName"):
        return f"role {params.get('roleName')}"
    return "<unknown>"


def rule(event):
    if event.get("eventSource") != "iam.amazonaws.com" or event.get("eventName") not in DELETE | PUT:
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False
    if event.get("eventName") in PUT:
        # A boundary of AdministratorAccess bounds nothing.
        arn = event.deep_get("requestParameters", "permissionsBoundary")
        return isinstance(arn, str) and arn.endswith(":iam::aws:policy/AdministratorAccess")
    return True


def title(event):
    if event.get("eventName") in PUT:
        return f"{principal(event)} set AdministratorAccess as the permissions boundary of IAM {_target(event)}"
    return f"{principal(event)} removed the permissions boundary of IAM {_target(event)}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{_target(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["target"] = _target(event)
    context["permissions_boundary"] = event.deep_get("requestParameters", "permissionsBoundary")
    return context
