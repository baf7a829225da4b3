"""UpdateTrail that sends a trail's logs somewhere else: a new S3 bucket, or a CloudWatch Logs
group that is removed or belongs to another account."""

from iota_helpers import arn_account, aws_rule_context, is_aws_service, is_external_account, name_from_arn, principal

# Add the log buckets your organization really uses (exact names) to silence expected moves.
EXPECTED_LOG_BUCKETS = set()


def _changes(event):
    changes = []
    bucket = event.deep_get("requestParameters", "s3BucketName")
    if isinstance(bucket, str) and bucket and bucket not in EXPECTED_LOG_BUCKETS:
        changes.append(f"S3 bucket set to {bucket}")
    params = event.get("requestParameters") or {}
    if "cloudWatchLogsLogGroupArn" in params:
        group = params.get("cloudWatchLogsLogGroupArn")
        if not group:
            changes.append("CloudWatch Logs delivery removed")
        elif is_external_account(arn_account(group), event):
            changes.append(f"CloudWatch Logs group in account {arn_account(group)}")
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
    return f"{principal(event)} redirected CloudTrail trail {_trail(event)}: " + "; ".join(_changes(event))


def severity(event):
    # Logs leaving for another account's log group, or losing their CloudWatch copy (and the
    # metric-filter alarms built on it), is worse than a bucket rename.
    if any(not change.startswith("S3 bucket") for change in _changes(event)):
        return "HIGH"
    return "DEFAULT"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{_trail(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["trail"] = _trail(event)
    context["changes"] = _changes(event)
    context["new_s3_bucket"] = event.deep_get("requestParameters", "s3BucketName")
    context["new_log_group_arn"] = event.deep_get("requestParameters", "cloudWatchLogsLogGroupArn")
    return context
