"""A role's trust policy updated to let an external AWS account, or anyone ("*"), assume it."""

from iota_helpers import as_list, aws_rule_context, is_aws_service, is_external_account, parse_policy
from iota_helpers import policy_statements, principal, principal_account

# Accounts your roles are expected to trust (partners, a central security account...).
TRUSTED_ACCOUNTS = set()


def _policy(event):
    """The policy document of the request as a dict, or None when absent or unparseable."""
    return parse_policy(event.deep_get("requestParameters", "policyDocument"))


def _findings(event):
    """[(kind, principal, has_condition, condition_keys)] for each risky trusted principal."""
    findings = []
    for statement in policy_statements(_policy(event), effect="Allow"):
        condition = statement.get("Condition") or {}
        keys = sorted(
            key for operator in condition.values() if isinstance(operator, dict) for key in operator
        ) if isinstance(condition, dict) else []
        trusted = statement.get("Principal")
        if trusted == "*":
            findings.append(("wildcard", "*", bool(condition), keys))
            continue
        if not isinstance(trusted, dict):
            continue
        for aws_principal in as_list(trusted.get("AWS")):
            if aws_principal == "*":
                findings.append(("wildcard", "*", bool(condition), keys))
                continue
            if is_external_account(principal_account(aws_principal), event, TRUSTED_ACCOUNTS):
                findings.append(("external", aws_principal, bool(condition), keys))
    return findings


def rule(event):
    if event.get("eventSource") != "iam.amazonaws.com" or event.get("eventName") != "UpdateAssumeRolePolicy":
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False
    return bool(_findings(event))


def title(event):
    role = event.deep_get("requestParameters", "roleName", default="<unknown role>")
    who = ", ".join(sorted({p for _, p, _, _ in _findings(event)}))
    return f"{principal(event)} changed the trust policy of role {role} to trust {who}"


def severity(event):
    findings = _findings(event)
    if any(kind == "wildcard" and not has_condition for kind, _, has_condition, _ in findings):
        return "CRITICAL"  # anyone with an AWS account can assume the role
    # Org-restricted wildcards and vendor roles guarded by an external id are common designs.
    if all(
        (kind == "wildcard" and has_condition) or "sts:externalid" in {k.lower() for k in keys}
        for kind, _, has_condition, keys in findings
    ):
        return "MEDIUM"
    return "DEFAULT"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('requestParameters', 'roleName')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["role"] = event.deep_get("requestParameters", "roleName")
    context["trusted_principals"] = [
        {"kind": kind, "principal": p, "has_condition": has_condition, "condition_keys": keys}
        for kind, p, has_condition, keys in _findings(event)
    ]
    context["policy_document"] = _policy(event)
    return context
