"""An opt-in AWS Region enabled for the account: room to operate where nobody is looking."""

from iota_helpers import aws_rule_context, principal


def _region(event):
    params = event.get("requestParameters") or {}
    return params.get("RegionName") or params.get("regionName") or "<unknown region>"


def rule(event):
    if event.get("eventSource") != "account.amazonaws.com" or event.get("eventName") != "EnableRegion":
        return False
    return not event.get("errorCode")


def title(event):
    target = event.deep_get("requestParameters", "AccountId") or event.get("recipientAccountId")
    return f"{principal(event)} enabled opt-in Region {_region(event)} for account {target}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{_region(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["region_enabled"] = _region(event)
    context["target_account"] = event.deep_get("requestParameters", "AccountId")
    return context
