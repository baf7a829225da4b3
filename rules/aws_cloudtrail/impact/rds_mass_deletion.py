"""One principal deleting several RDS DB instances or clusters in a short time."""

from iota_helpers import aws_rule_context, is_aws_service, principal


def _database(event):
    params = event.get("requestParameters") or {}
    return params.get("dBInstanceIdentifier") or params.get("dBClusterIdentifier") or str(event.get("eventID"))


def rule(event):
    if event.get("eventSource") != "rds.amazonaws.com":
        return False
    if event.get("eventName") not in ("DeleteDBInstance", "DeleteDBCluster"):
        return False
    return not (event.get("errorCode") or is_aws_service(event))


def unique(event):
    return f"{event.get('awsRegion')}:{_database(event)}"


def title(event):
    return f"{principal(event)} deleted several RDS databases in account {event.get('recipientAccountId')}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('userIdentity', 'arn')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["database"] = _database(event)
    context["skip_final_snapshot"] = event.deep_get("requestParameters", "skipFinalSnapshot")
    context["delete_automated_backups"] = event.deep_get("requestParameters", "deleteAutomatedBackups")
    return context
