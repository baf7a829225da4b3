"""Security Hub switched off, its standards disabled, or the account cut off from its
Security Hub administrator: the attacker's view of "turn off the findings dashboard"."""

from iota_helpers import aws_rule_context, is_aws_service, principal

# eventName -> what it does to the defenders' view.
CHANGES = {
    "DisableSecurityHub": "disabled Security Hub",
    "BatchDisableStandards": "disabled Security Hub standards",
    "DisassociateFromAdministratorAccount": "disassociated the account from its Security Hub administrator",
    "DisassociateFromMasterAccount": "disassociated the account from its Security Hub administrator",
    "DisassociateMembers": "disassociated Security Hub member accounts",
    "DeleteMembers": "deleted Security Hub member accounts",
    "DisableImportFindingsForProduct": "stopped importing findings from an integrated product",
    "DisableOrganizationAdminAccount": "removed the delegated Security Hub administrator",
}


def rule(event):
    if event.get("eventSource") != "securityhub.amazonaws.com" or event.get("eventName") not in CHANGES:
        return False
    return not event.get("errorCode") and not is_aws_service(event)


def _detail(event):
    params = event.get("requestParameters") or {}
    for key in ("StandardsSubscriptionArns", "AccountIds", "ProductSubscriptionArn", "AdminAccountId"):
        value = params.get(key)
        if value:
            return value if isinstance(value, str) else ", ".join(str(v) for v in value)
    return None


def title(event):
    detail = _detail(event)
    suffix = f" ({detail})" if detail else ""
    return f"{principal(event)} {CHANGES[event.get('eventName')]} in {event.get('awsRegion')}{suffix}"


def severity(event):
    # Losing one product integration is narrower than losing the hub or a standard.
    return "MEDIUM" if event.get("eventName") == "DisableImportFindingsForProduct" else "DEFAULT"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.get('awsRegion')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["change"] = CHANGES[event.get("eventName")]
    context["detail"] = _detail(event)
    return context
