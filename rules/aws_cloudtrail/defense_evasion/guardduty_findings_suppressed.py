"""GuardDuty findings silenced: an auto-archive filter, a trusted IP list, or a threat list
deleted."""

from iota_helpers import aws_rule_context, is_aws_service, principal

EVENT_NAMES = {"CreateFilter", "UpdateFilter", "CreateIPSet", "UpdateIPSet", "DeleteThreatIntelSet"}


def _change(event):
    name = event.get("eventName")
    params = event.get("requestParameters") or {}
    if name in ("CreateFilter", "UpdateFilter"):
        # Only ARCHIVE filters hide findings; NOOP filters are saved searches.
        if params.get("action") == "ARCHIVE":
            return f"auto-archive filter {params.get('filterName') or params.get('name') or '<unknown>'}"
        return None
    if name in ("CreateIPSet", "UpdateIPSet"):
        # An IP set is GuardDuty's trusted IP list: no findings are raised for its addresses.
        if params.get("activate") is False:
            return None
        ip_set = params.get("name") or params.get("ipSetId") or "<unknown>"
        return f"trusted IP list {ip_set} ({params.get('location') or 'no location given'})"
    if name == "DeleteThreatIntelSet":
        return f"threat list {params.get('threatIntelSetId') or '<unknown>'} deleted"
    return None


def rule(event):
    if event.get("eventSource") != "guardduty.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False
    return _change(event) is not None


def title(event):
    return f"{principal(event)} suppressed GuardDuty findings in {event.get('awsRegion')}: {_change(event)}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.get('awsRegion')}:{principal(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["detector_id"] = event.deep_get("requestParameters", "detectorId")
    context["change"] = _change(event)
    context["finding_criteria"] = (context["requestParameters"] or {}).get("findingCriteria")
    return context
