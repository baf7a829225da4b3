"""A role's trust policy updated to let an external AWS account, or anyone ("*"), assume it."""

import json
import re
from urllib.parse import unquote

from iota_helpers import aws_rule_context, is_aws_service, principal

# Accounts your roles are expected to trust (partners, a central security account...).
TRUSTED_ACCOUNTS = set()

_ACCOUNT_IN_ARN = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):")


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _policy(event):
    """The policy document of the request as a dict, or None when absent or unparseable."""
    text = event.deep_get("requestParameters", "policyDocument")
    if not isinstance(text, str):
        return None
    if text.lstrip().startswith("%7B"):  # some clients send it URL-encoded
        text = unquote(text)
    try:
        document = json.loads(text)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _account_of(aws_principal):
    if not isinstance(aws_principal, str):
        return None
    if re.fullmatch(r"\d{12}", aws_principal):
        return aws_principal
    match = _ACCOUNT_IN_ARN.match(aws_principal)
    return match.group(1) if match else None


def _findings(event):
    """[(kind, principal, has_condition, condition_keys)] for each risky trusted principal."""
    document = _policy(event)
    if document is None:
        return []
    own = event.get("recipientAccountId")
    findings = []
    for statement in _as_list(document.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
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
        for aws_principal in _as_list(trusted.get("AWS")):
            if aws_principal == "*":
                findings.append(("wildcard", "*", bool(condition), keys))
                continue
            account = _account_of(aws_principal)
            if account and account != own and account not in TRUSTED_ACCOUNTS:
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
