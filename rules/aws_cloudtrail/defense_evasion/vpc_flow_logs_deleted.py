"""VPC flow logs deleted: network traffic of the VPC, subnet or interface is no longer recorded."""

from collections.abc import Mapping

from iota_helpers import as_list, aws_rule_context, is_aws_service, principal


def _flow_log_ids(event):
    # CloudTrail writes the EC2 query request as {"DeleteFlowLogsRequest": {"FlowLogId": ...}},
    # the id being {"tag": n, "content": "fl-..."} or a list of those.
    ids = event.deep_get("requestParameters", "DeleteFlowLogsRequest", "FlowLogId")
    if ids is None:
        ids = event.deep_get("requestParameters", "flowLogIds")
    out = []
    for item in as_list(ids):
        if isinstance(item, Mapping):
            item = item.get("content")
        if isinstance(item, str) and item:
            out.append(item)
    return out


def rule(event):
    if event.get("eventSource") != "ec2.amazonaws.com" or event.get("eventName") != "DeleteFlowLogs":
        return False
    # CloudFormation stack deletions remove flow logs as a service call.
    return not event.get("errorCode") and not is_aws_service(event)


def title(event):
    ids = ", ".join(_flow_log_ids(event)) or "<unknown>"
    return f"{principal(event)} deleted VPC flow log(s) {ids} in {event.get('awsRegion')}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.get('awsRegion')}:{principal(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["flow_log_ids"] = _flow_log_ids(event)
    return context
