"""UpdateTrail that narrows what a trail covers: one region only, no global service events, or
no longer an organization trail."""

from iota_helpers import aws_rule_context, is_aws_service, name_from_arn, principal

# requestParameters key set to False -> what the trail stops recording.
_NARROWING = {
    "isMultiRegionTrail": "events of other regions",
    "includeGlobalServiceEvents": "global service events (IAM, STS, CloudFront)",
    "isOrganizationTrail": "events of the organization's member accounts",
}


def _lost(event):
    return [lost for key, lost in _NARROWING.items() if event.deep_get("requestParameters", key) is False]


def rule(event):
    if event.get("eventSource") != "cloudtrail.amazonaws.com" or event.get("eventName") != "UpdateTrail":
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False
    return bool(_lost(event))


def _trail(event):
    return name_from_arn(event.deep_get("requestParameters", "name", default="<unknown trail>"), ":trail/")


def title(event):
    return f"{principal(event)} changed CloudTrail trail {_trail(event)} to stop recording " + " and ".join(_lost(event))


def dedup(event):
    return f"{event.get('recipientAccountId')}:{_trail(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["trail"] = _trail(event)
    context["no_longer_recorded"] = _lost(event)
    context["trail_arn"] = event.deep_get("responseElements", "trailARN")
    return context
