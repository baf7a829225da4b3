"""A GuardDuty member account cut off from its administrator account, from either side."""

from iota_helpers import as_list, aws_rule_context, is_aws_service, principal

# Called in the member account: it leaves the administrator's view.
MEMBER_SIDE = {"DisassociateFromMasterAccount", "DisassociateFromAdministratorAccount"}
# Called in the administrator account: it drops or stops watching members.
ADMIN_SIDE = {"DisassociateMembers", "DeleteMembers", "StopMonitoringMembers"}


def _accounts(event):
    return [str(a) for a in as_list(event.deep_get("requestParameters", "accountIds"))]


def rule(event):
    if event.get("eventSource") != "guardduty.amazonaws.com":
        return False
    if event.get("eventName") not in MEMBER_SIDE | ADMIN_SIDE:
        return False
    return not event.get("errorCode") and not is_aws_service(event)


def title(event):
    if event.get("eventName") in MEMBER_SIDE:
        return (
            f"{principal(event)} disassociated account {event.get('recipientAccountId')} from its "
            f"GuardDuty administrator in {event.get('awsRegion')}"
        )
    accounts = ", ".join(_accounts(event)) or "<unknown accounts>"
    return f"{principal(event)} ran GuardDuty {event.get('eventName')} for member account(s) {accounts} in {event.get('awsRegion')}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.get('awsRegion')}:{event.get('eventName')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["detector_id"] = event.deep_get("requestParameters", "detectorId")
    context["member_accounts"] = _accounts(event)
    unprocessed = event.deep_walk("responseElements", "unprocessedAccounts", "accountId")
    context["unprocessed_accounts"] = [str(a) for a in as_list(unprocessed)]
    return context
