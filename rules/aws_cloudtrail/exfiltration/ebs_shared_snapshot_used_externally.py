"""Another AWS account copied one of our shared EBS snapshots or created a volume from it."""

from iota_helpers import aws_rule_context, is_external_account

EVENT_NAMES = {"SharedSnapshotCopyInitiated", "SharedSnapshotVolumeCreated"}

# Accounts expected to use your shared snapshots (backup / DR accounts).
TRUSTED_ACCOUNT_IDS = set()


def trusted_account_ids():
    """The trusted accounts (a function so that tests can mock it)."""
    return TRUSTED_ACCOUNT_IDS


def rule(event):
    if event.get("eventSource") != "ec2.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    # EC2 writes these service events into the snapshot owner's trail; userIdentity.accountId
    # is the account that used the snapshot.
    return is_external_account(event.deep_get("userIdentity", "accountId"), event, trusted_account_ids())


def _snapshot(event):
    return event.deep_get("serviceEventDetails", "snapshotId", default="<unknown snapshot>")


def title(event):
    action = "copied" if event.get("eventName") == "SharedSnapshotCopyInitiated" else "created a volume from"
    return (
        f"Account {event.deep_get('userIdentity', 'accountId')} {action} shared EBS snapshot "
        f"{_snapshot(event)} of account {event.get('recipientAccountId')}"
    )


def dedup(event):
    return f"{event.get('recipientAccountId')}:{_snapshot(event)}:{event.deep_get('userIdentity', 'accountId')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["snapshot_id"] = _snapshot(event)
    context["external_account"] = event.deep_get("userIdentity", "accountId")
    return context
