"""A GuardDuty detector deleted, suspended, or stripped of its protection plans."""

from collections.abc import Mapping

from iota_helpers import as_list, aws_rule_context, is_aws_service, principal


def _disabled_features(event):
    """Protection plans / data sources an UpdateDetector call turns off."""
    off = []
    for feature in as_list(event.deep_get("requestParameters", "features")):
        if isinstance(feature, Mapping) and feature.get("status") == "DISABLED":
            off.append(str(feature.get("name")))
    sources = event.deep_get("requestParameters", "dataSources")
    if isinstance(sources, Mapping):
        for name, setting in sources.items():
            if isinstance(setting, Mapping):
                if setting.get("enable") is False:
                    off.append(name)
                for sub, sub_setting in setting.items():  # kubernetes.auditLogs, malwareProtection...
                    if isinstance(sub_setting, Mapping) and sub_setting.get("enable") is False:
                        off.append(f"{name}.{sub}")
    return off


def _change(event):
    name = event.get("eventName")
    if name == "DeleteDetector":
        return "deleted"
    if name == "UpdateDetector":
        if event.deep_get("requestParameters", "enable") is False:
            return "suspended"
        off = _disabled_features(event)
        if off:
            return "had protection disabled: " + ", ".join(off)
    return None


def rule(event):
    if event.get("eventSource") != "guardduty.amazonaws.com" or event.get("eventName") not in ("DeleteDetector", "UpdateDetector"):
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False
    return _change(event) is not None


def title(event):
    detector = event.deep_get("requestParameters", "detectorId", default="<unknown>")
    return f"GuardDuty detector {detector} in {event.get('awsRegion')} {_change(event)} by {principal(event)}"


def severity(event):
    # Turning off one protection plan leaves the detector running: less urgent.
    return "MEDIUM" if _change(event).startswith("had protection") else "DEFAULT"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.get('awsRegion')}:{event.deep_get('requestParameters', 'detectorId')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["detector_id"] = event.deep_get("requestParameters", "detectorId")
    context["change"] = _change(event)
    return context
