"""A CloudWatch Logs group (or a stream or subscription of it) that holds security logs deleted:
CloudTrail, VPC flow logs, DNS query logs, WAF, EKS audit, GuardDuty and similar."""

from iota_helpers import aws_rule_context, is_aws_service, principal

EVENT_NAMES = {"DeleteLogGroup", "DeleteLogStream", "DeleteSubscriptionFilter"}

# Lower-case fragments of log group names that usually hold security telemetry. Extend with
# your own naming convention.
SECURITY_LOG_MARKERS = (
    "cloudtrail",
    "flowlog",
    "flow-log",
    "flow_log",
    "vpcflow",
    "guardduty",
    "securityhub",
    "aws-waf-logs",
    "route53",
    "resolver",
    "dns-query",
    "/aws/eks/",
    "network-firewall",
    "audit",
    "security",
    "siem",
)


def _group(event):
    return event.deep_get("requestParameters", "logGroupName") or event.deep_get(
        "requestParameters", "logGroupIdentifier"
    )


def rule(event):
    if event.get("eventSource") != "logs.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False
    group = _group(event)
    return isinstance(group, str) and any(marker in group.lower() for marker in SECURITY_LOG_MARKERS)


def title(event):
    name = event.get("eventName")
    what = {
        "DeleteLogGroup": "deleted security log group",
        "DeleteLogStream": f"deleted log stream {event.deep_get('requestParameters', 'logStreamName')} of security log group",
        "DeleteSubscriptionFilter": "removed the log forwarding (subscription filter) of security log group",
    }[name]
    return f"{principal(event)} {what} {_group(event)}"


def severity(event):
    # A subscription removal stops forwarding but keeps the data; a stream is part of a group.
    return "DEFAULT" if event.get("eventName") == "DeleteLogGroup" else "MEDIUM"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.get('awsRegion')}:{_group(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["log_group"] = _group(event)
    context["log_stream"] = event.deep_get("requestParameters", "logStreamName")
    context["filter_name"] = event.deep_get("requestParameters", "filterName")
    return context
