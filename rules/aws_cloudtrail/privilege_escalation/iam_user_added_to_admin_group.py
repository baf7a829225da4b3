"""An IAM user added to a group whose name marks it as privileged (admins, power users,
break-glass...)."""

import re

from iota_helpers import aws_rule_context, is_aws_service, principal

# Group names that usually carry administrator-level policies. Adjust to your naming.
ADMIN_GROUP = re.compile(r"admin|root|superuser|power[-_ ]?user|full[-_ ]?access|break[-_ ]?glass|owner", re.IGNORECASE)


def rule(event):
    if event.get("eventSource") != "iam.amazonaws.com" or event.get("eventName") != "AddUserToGroup":
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False
    group = event.deep_get("requestParameters", "groupName")
    return isinstance(group, str) and ADMIN_GROUP.search(group) is not None


def _self_add(event):
    return event.deep_get("requestParameters", "userName") == event.deep_get("userIdentity", "userName")


def title(event):
    user = event.deep_get("requestParameters", "userName", default="<unknown>")
    group = event.deep_get("requestParameters", "groupName")
    if _self_add(event):
        return f"{principal(event)} added itself to privileged IAM group {group}"
    return f"{principal(event)} added IAM user {user} to privileged IAM group {group}"


def severity(event):
    return "CRITICAL" if _self_add(event) else "DEFAULT"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('requestParameters', 'userName')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["target_user"] = event.deep_get("requestParameters", "userName")
    context["group"] = event.deep_get("requestParameters", "groupName")
    context["self_add"] = _self_add(event)
    return context
