"""A change to the AWS Organization: accounts, OUs, policies, trusted access (CIS 4.15)."""

from iota_helpers import aws_rule_context, is_aws_service, principal, principal_key

EVENT_NAMES = {
    # CIS 4.15 event set
    "AcceptHandshake",
    "AttachPolicy",
    "CreateAccount",
    "CreateOrganizationalUnit",
    "CreatePolicy",
    "DeclineHandshake",
    "DeleteOrganization",
    "DeleteOrganizationalUnit",
    "DeletePolicy",
    "DetachPolicy",
    "DisablePolicyType",
    "EnablePolicyType",
    "InviteAccountToOrganization",
    "LeaveOrganization",
    "MoveAccount",
    "RemoveAccountFromOrganization",
    "UpdatePolicy",
    "UpdateOrganizationalUnit",
    # further organization-wide controls
    "CloseAccount",
    "CreateGovCloudAccount",
    "EnableAllFeatures",
    "EnableAWSServiceAccess",
    "DisableAWSServiceAccess",
    "RegisterDelegatedAdministrator",
    "DeregisterDelegatedAdministrator",
    "PutResourcePolicy",
    "DeleteResourcePolicy",
}
# Changes that loosen guardrails or take accounts out of them.
WEAKENING = {
    "DeleteOrganization",
    "LeaveOrganization",
    "RemoveAccountFromOrganization",
    "DetachPolicy",
    "DeletePolicy",
    "DisablePolicyType",
    "DisableAWSServiceAccess",
}



def rule(event):
    if event.get("eventSource") != "organizations.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    if event.get("errorCode"):
        return False
    return not is_aws_service(event)


def _target(event):
    for key in (
        "policyId",
        "targetId",
        "accountId",
        "organizationalUnitId",
        "handshakeId",
        "servicePrincipal",
        "policyType",
        "name",
    ):
        value = event.deep_get("requestParameters", key)
        if value and value != "HIDDEN_DUE_TO_SECURITY_REASONS":
            return value
    # CreateAccount hides the e-mail and name; the request id is what DescribeCreateAccountStatus takes.
    return event.deep_get("responseElements", "createAccountStatus", "id")


def title(event):
    target = _target(event)
    detail = f" on {target}" if target else ""
    return (
        f"{principal(event)} changed the AWS Organization from account "
        f"{event.get('recipientAccountId')}: {event.get('eventName')}{detail}"
    )


def severity(event):
    return "MEDIUM" if event.get("eventName") in WEAKENING else "DEFAULT"


def dedup(event):
    # The elevated changes get their own alert, so routine changes earlier in the hour cannot
    # hide them under a Low alert.
    kind = "weakens-guardrails" if event.get("eventName") in WEAKENING else "routine"
    return f"{event.get('recipientAccountId')}:{principal_key(event)}:{kind}"


def alert_context(event):
    context = aws_rule_context(event)
    context["target"] = _target(event)
    context["policy_id"] = event.deep_get("requestParameters", "policyId")
    context["target_id"] = event.deep_get("requestParameters", "targetId")
    context["weakens_guardrails"] = event.get("eventName") in WEAKENING
    return context
