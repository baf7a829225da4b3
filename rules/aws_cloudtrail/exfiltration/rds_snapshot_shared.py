"""An RDS DB or cluster snapshot shared publicly or with another AWS account (restore attribute)."""

from iota_helpers import aws_rule_context, is_external_account, principal

EVENT_NAMES = {"ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute"}

# Accounts you share snapshots with on purpose (backup or DR accounts of your organization).
TRUSTED_ACCOUNT_IDS = set()


def trusted_account_ids():
    """The trusted accounts (a function so that tests can mock it)."""
    return TRUSTED_ACCOUNT_IDS


def _snapshot(event):
    params = event.get("requestParameters") or {}
    return params.get("dBSnapshotIdentifier") or params.get("dBClusterSnapshotIdentifier") or "<unknown snapshot>"


def _grants(event):
    values = event.deep_get("requestParameters", "valuesToAdd", default=[]) or []
    public = any(str(value).lower() == "all" for value in values)
    accounts = [
        str(value)
        for value in values
        if str(value).lower() != "all" and is_external_account(value, event, trusted_account_ids())
    ]
    return public, accounts


def rule(event):
    if event.get("eventSource") != "rds.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    if event.get("errorCode"):
        return False
    if event.deep_get("requestParameters", "attributeName") != "restore":
        return False
    public, accounts = _grants(event)
    return public or bool(accounts)


def severity(event):
    public, _ = _grants(event)
    return "DEFAULT" if public else "MEDIUM"


def title(event):
    public, accounts = _grants(event)
    target = "publicly" if public else "with account(s) " + ", ".join(accounts)
    kind = "cluster snapshot" if event.get("eventName") == "ModifyDBClusterSnapshotAttribute" else "snapshot"
    return f"{principal(event)} shared RDS {kind} {_snapshot(event)} {target}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.get('awsRegion')}:{_snapshot(event)}"


def alert_context(event):
    public, accounts = _grants(event)
    context = aws_rule_context(event)
    context["snapshot"] = _snapshot(event)
    context["public"] = public
    context["shared_with_accounts"] = accounts
    return context
