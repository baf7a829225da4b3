"""UpdateTrail that turns off log file validation, removes the trail's KMS encryption, or
encrypts it with a KMS key of another account."""

from iota_helpers import arn_account, aws_rule_context, is_aws_service, is_external_account, name_from_arn, principal


def _changes(event):
    changes = []
    if event.deep_get("requestParameters", "enableLogFileValidation") is False:
        changes.append("log file validation disabled")
    params = event.get("requestParameters") or {}
    if "kmsKeyId" in params:
        key = params.get("kmsKeyId")
        if not key:
            changes.append("SSE-KMS encryption removed")
        else:
            # Only a key ARN names its account; a key id or alias is in the trail's own account.
            owner = arn_account(key, "kms")
            if is_external_account(owner, event):
                changes.append(f"logs encrypted with a KMS key of account {owner}")
    return changes


def rule(event):
    if event.get("eventSource") != "cloudtrail.amazonaws.com" or event.get("eventName") != "UpdateTrail":
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False
    return bool(_changes(event))


def _trail(event):
    return name_from_arn(event.deep_get("requestParameters", "name", default="<unknown trail>"), ":trail/")


def title(event):
    return f"{principal(event)} weakened the integrity of CloudTrail trail {_trail(event)}: " + "; ".join(_changes(event))


def severity(event):
    # A foreign key makes new logs unreadable to the account's own defenders.
    if any("of account" in change for change in _changes(event)):
        return "HIGH"
    return "DEFAULT"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{_trail(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["trail"] = _trail(event)
    context["changes"] = _changes(event)
    context["kms_key_id"] = event.deep_get("requestParameters", "kmsKeyId")
    return context
