"""A Security Hub configuration change: hub, standards, controls, members, automation (CIS 4.16)."""

import json

from iota_helpers import aws_rule_context, is_aws_service, plain, principal, principal_key

EVENT_NAMES = {
    "DisableSecurityHub",
    "EnableSecurityHub",
    "UpdateSecurityHubConfiguration",
    "BatchDisableStandards",
    "BatchEnableStandards",
    "UpdateStandardsControl",
    "BatchUpdateStandardsControlAssociations",
    "DisableImportFindingsForProduct",
    "EnableImportFindingsForProduct",
    "DeleteMembers",
    "DisassociateMembers",
    "DisassociateFromAdministratorAccount",
    "DisassociateFromMasterAccount",
    "DisableOrganizationAdminAccount",
    "EnableOrganizationAdminAccount",
    "UpdateOrganizationConfiguration",
    "CreateAutomationRule",
    "BatchUpdateAutomationRules",
    "BatchDeleteAutomationRules",
    "CreateFindingAggregator",
    "UpdateFindingAggregator",
    "DeleteFindingAggregator",
    "DeleteInsight",
    "DeleteActionTarget",
    "CreateConfigurationPolicy",
    "UpdateConfigurationPolicy",
    "DeleteConfigurationPolicy",
    "StartConfigurationPolicyAssociation",
    "StartConfigurationPolicyDisassociation",
}
# Changes that turn findings off or cut an account out of central visibility.
WEAKENING = {
    "DisableSecurityHub",
    "BatchDisableStandards",
    "DisableImportFindingsForProduct",
    "DeleteMembers",
    "DisassociateMembers",
    "DisassociateFromAdministratorAccount",
    "DisassociateFromMasterAccount",
    "DisableOrganizationAdminAccount",
    "DeleteFindingAggregator",
}



def rule(event):
    if event.get("eventSource") != "securityhub.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    if event.get("errorCode"):
        return False
    return not is_aws_service(event)


def _weakens(event):
    if event.get("eventName") in WEAKENING:
        return True
    # Controls switched off (ControlStatus / AssociationStatus DISABLED) and automation rules that
    # suppress findings hide detections as surely as disabling a standard.
    request = json.dumps(plain(event.get("requestParameters")), default=str)
    return '"DISABLED"' in request or '"SUPPRESSED"' in request


def _target(event):
    # deep_get is case-insensitive on events, so one spelling covers the API's field names.
    for key in (
        "StandardsControlArn",
        "ProductSubscriptionArn",
        "RuleName",
        "AdminAccountId",
        "Identifier",
        "InsightArn",
        "ActionTargetArn",
        "FindingAggregatorArn",
    ):
        value = event.deep_get("requestParameters", key)
        if value:
            return value
    for key in ("AccountIds", "StandardsSubscriptionArns", "AutomationRulesArns"):
        values = event.deep_get("requestParameters", key)
        if values and not isinstance(values, str):
            return ", ".join(str(value) for value in values)
    return None


def title(event):
    target = _target(event)
    detail = f" on {target}" if target else ""
    return (
        f"{principal(event)} changed Security Hub in account {event.get('recipientAccountId')} "
        f"({event.get('awsRegion')}): {event.get('eventName')}{detail}"
    )


def severity(event):
    return "MEDIUM" if _weakens(event) else "DEFAULT"


def dedup(event):
    # The elevated changes get their own alert, so routine changes earlier in the hour cannot
    # hide them under a Low alert.
    kind = "weakens-detection" if _weakens(event) else "routine"
    return f"{event.get('recipientAccountId')}:{principal_key(event)}:{kind}"


def alert_context(event):
    context = aws_rule_context(event)
    context["target"] = _target(event)
    context["weakens_detection"] = _weakens(event)
    return context
