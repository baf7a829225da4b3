"""Administrator-level permissions given to a user, role or group: AdministratorAccess or
IAMFullAccess attached, or an inline policy allowing every action (or every IAM action) on
every resource."""

from fnmatch import fnmatchcase

from iota_helpers import as_list, aws_rule_context, is_aws_service, parse_policy, policy_statements, principal

ATTACH = {"AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy"}
INLINE = {"PutUserPolicy", "PutRolePolicy", "PutGroupPolicy"}

# AWS managed policies that amount to full control of the account.
ADMIN_MANAGED_POLICIES = {"AdministratorAccess", "IAMFullAccess"}


def _policy(event):
    return parse_policy(event.deep_get("requestParameters", "policyDocument"))


def _grants_admin(document):
    """True when an Allow statement covers "*" or "iam:*" on Resource "*" (NotAction with
    Resource "*" allows all but a few actions, and counts too)."""
    for statement in policy_statements(document, effect="Allow"):
        if "*" not in as_list(statement.get("Resource")):
            continue
        if "NotAction" in statement:
            return True
        for action in as_list(statement.get("Action")):
            if isinstance(action, str) and any(fnmatchcase(target, action.lower()) for target in ("*", "iam:*")):
                return True
    return False


def _managed_name(event):
    arn = event.deep_get("requestParameters", "policyArn")
    if isinstance(arn, str) and ":iam::aws:policy/" in arn:
        return arn.rsplit("/", 1)[1]
    return None


def _granted(event):
    """A short description of the admin grant, or None."""
    name = event.get("eventName")
    if name in ATTACH:
        managed = _managed_name(event)
        return managed if managed in ADMIN_MANAGED_POLICIES else None
    if name in INLINE:
        if _grants_admin(_policy(event)):
            return f"inline policy {event.deep_get('requestParameters', 'policyName')}"
    return None


def _target(event):
    params = event.get("requestParameters") or {}
    for key, kind in (("userName", "user"), ("roleName", "role"), ("groupName", "group")):
        if params.get(key):
            return f"{kind} {params.get(key)}"
    return "<unknown>"


def rule(event):
    if event.get("eventSource") != "iam.amazonaws.com" or event.get("eventName") not in ATTACH | INLINE:
        return False
    # IAM Identity Center provisioning its permission-set roles, Control Tower and CloudFormation
    # stacks act as AWS services; their grants are reviewed where they are defined.
    if event.get("errorCode") or is_aws_service(event):
        return False
    return _granted(event) is not None


def title(event):
    return f"{principal(event)} granted administrator access ({_granted(event)}) to IAM {_target(event)}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{_target(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["target"] = _target(event)
    context["granted"] = _granted(event)
    context["policy_arn"] = event.deep_get("requestParameters", "policyArn")
    context["policy_document"] = _policy(event)
    return context
