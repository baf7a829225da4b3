"""One principal deleting many snapshots or backup recovery points: removing the way back."""

from iota_helpers import aws_rule_context, is_aws_service, principal, principal_arn_matches

EVENTS = {
    "ec2.amazonaws.com": {"DeleteSnapshot"},
    "rds.amazonaws.com": {"DeleteDBSnapshot", "DeleteDBClusterSnapshot"},
    "backup.amazonaws.com": {"DeleteRecoveryPoint", "DeleteBackupVault"},
}

# Custom snapshot-retention jobs that run as ordinary roles, matched on userIdentity.arn.
ALLOWED_PRINCIPAL_ARNS = []


def allowed_principal_arns():
    """The allow-list (a function so that tests can mock it)."""
    return ALLOWED_PRINCIPAL_ARNS


def _target(event):
    params = event.get("requestParameters") or {}
    keys = ("snapshotId", "dBSnapshotIdentifier", "dBClusterSnapshotIdentifier", "recoveryPointArn", "backupVaultName")
    for key in keys:
        if params.get(key):
            return str(params.get(key))
    return str(event.get("eventID"))


def rule(event):
    if event.get("eventName") not in EVENTS.get(event.get("eventSource"), ()):
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False  # Data Lifecycle Manager and AWS Backup expire recovery points as services
    return not principal_arn_matches(event, allowed_principal_arns())


def unique(event):
    return f"{event.get('eventName')}:{_target(event)}"


def title(event):
    return f"{principal(event)} deleted many snapshots / backups in account {event.get('recipientAccountId')}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('userIdentity', 'arn')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["deleted"] = _target(event)
    return context
