"""An EBS snapshot shared publicly or with another AWS account (createVolumePermission added)."""

from iota_helpers import aws_rule_context, ec2_permission_grants, principal

# Accounts you share snapshots with on purpose (backup or DR accounts of your organization).
TRUSTED_ACCOUNT_IDS = set()


def trusted_account_ids():
    """The trusted accounts (a function so that tests can mock it)."""
    return TRUSTED_ACCOUNT_IDS


def _grants(event):
    """(public, [account ids]) added by this call."""
    return ec2_permission_grants(event, "createVolumePermission", trusted_account_ids())


def rule(event):
    if event.get("eventSource") != "ec2.amazonaws.com" or event.get("eventName") != "ModifySnapshotAttribute":
        return False
    if event.get("errorCode"):
        return False
    public, accounts = _grants(event)
    return public or bool(accounts)


def severity(event):
    public, _ = _grants(event)
    return "DEFAULT" if public else "MEDIUM"


def title(event):
    snapshot = event.deep_get("requestParameters", "snapshotId", default="<unknown snapshot>")
    public, accounts = _grants(event)
    target = "publicly" if public else "with account(s) " + ", ".join(accounts)
    return f"{principal(event)} shared EBS snapshot {snapshot} {target}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('requestParameters', 'snapshotId')}"


def alert_context(event):
    public, accounts = _grants(event)
    context = aws_rule_context(event)
    context["snapshot_id"] = event.deep_get("requestParameters", "snapshotId")
    context["public"] = public
    context["shared_with_accounts"] = accounts
    return context
