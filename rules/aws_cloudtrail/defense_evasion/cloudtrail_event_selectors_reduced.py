"""PutEventSelectors that stops a trail from recording management events, or part of them."""

from collections.abc import Mapping

from iota_helpers import as_list, aws_rule_context, is_aws_service, name_from_arn, principal

# Findings that leave the account's control-plane activity unrecorded.
_SEVERE = {"management events off", "write management events off"}


def _basic_findings(selectors):
    """Findings for classic event selectors (absent keys take the API defaults: management
    events on, ReadWriteType All)."""
    management = [s for s in selectors if isinstance(s, Mapping) and s.get("includeManagementEvents", True) is not False]
    if not management:
        data_values = [
            value
            for s in selectors
            if isinstance(s, Mapping)
            for resource in as_list(s.get("dataResources"))
            if isinstance(resource, Mapping)
            for value in as_list(resource.get("values"))
        ]
        # A trail kept for data events only is a legitimate design; one with no data resources
        # either records nothing at all.
        return ["management events off (data events only)"] if data_values else ["management events off"]
    types = {s.get("readWriteType") or "All" for s in management}
    findings = []
    if "All" not in types:
        if types == {"ReadOnly"}:
            findings.append("write management events off")
        elif types == {"WriteOnly"}:
            findings.append("read-only management events off")
    if all(as_list(s.get("excludeManagementEventSources")) for s in management):
        excluded = sorted({src for s in management for src in as_list(s.get("excludeManagementEventSources"))})
        findings.append("management events excluded for " + ", ".join(map(str, excluded)))
    return findings


def _field(selector, name):
    for field in as_list(selector.get("fieldSelectors")):
        if isinstance(field, Mapping) and str(field.get("field", "")).lower() == name.lower():
            return field
    return None


def _advanced_findings(selectors):
    """Findings for advanced event selectors: management events are recorded only by a
    selector with eventCategory equals Management."""
    management = []
    for selector in selectors:
        if not isinstance(selector, Mapping):
            continue
        category = _field(selector, "eventCategory")
        if category and "Management" in as_list(category.get("equals")):
            management.append(selector)
    if not management:
        return ["management events off"]
    findings = []
    read_only = [_field(s, "readOnly") for s in management]
    if all(f and as_list(f.get("equals")) == ["true"] for f in read_only):
        findings.append("write management events off")
    elif all(f and as_list(f.get("equals")) == ["false"] for f in read_only):
        findings.append("read-only management events off")
    sources = [_field(s, "eventSource") for s in management]
    if all(f and as_list(f.get("notEquals")) for f in sources):
        excluded = sorted({src for f in sources for src in as_list(f.get("notEquals"))})
        findings.append("management events excluded for " + ", ".join(map(str, excluded)))
    return findings


def _findings(event):
    params = event.get("requestParameters") or {}
    if not isinstance(params, Mapping):
        return []
    advanced = as_list(params.get("advancedEventSelectors"))
    if advanced:
        return _advanced_findings(advanced)
    basic = as_list(params.get("eventSelectors"))
    if basic:
        return _basic_findings(basic)
    return []


def rule(event):
    if event.get("eventSource") != "cloudtrail.amazonaws.com" or event.get("eventName") != "PutEventSelectors":
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False
    return bool(_findings(event))


def _trail(event):
    return name_from_arn(event.deep_get("requestParameters", "trailName", default="<unknown trail>"), ":trail/")


def title(event):
    return f"{principal(event)} reduced what CloudTrail trail {_trail(event)} records: " + "; ".join(_findings(event))


def severity(event):
    return "DEFAULT" if _SEVERE & set(_findings(event)) else "MEDIUM"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{_trail(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["trail"] = _trail(event)
    context["findings"] = _findings(event)
    return context
