"""A role session rewriting the trust policy of its own role (UpdateAssumeRolePolicy on itself):
a foothold that lets new principals, or the attacker's own, keep assuming the role."""

from iota_helpers import aws_rule_context, is_aws_service, principal


def _own_role(event):
    if event.deep_get("userIdentity", "type") != "AssumedRole":
        return None
    return event.deep_get("userIdentity", "sessionContext", "sessionIssuer", "userName")


def rule(event):
    if event.get("eventSource") != "iam.amazonaws.com" or event.get("eventName") != "UpdateAssumeRolePolicy":
        return False
    if is_aws_service(event):
        return False
    role = _own_role(event)
    # Denied attempts are kept: a session probing its own trust policy is the signal.
    return bool(role) and event.deep_get("requestParameters", "roleName") == role


def title(event):
    outcome = "tried to rewrite" if event.get("errorCode") else "rewrote"
    return f"{principal(event)} {outcome} the trust policy of its own role {_own_role(event)}"


def severity(event):
    return "MEDIUM" if event.get("errorCode") else "DEFAULT"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{_own_role(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["role"] = _own_role(event)
    context["source_identity"] = event.deep_get("userIdentity", "sessionContext", "sourceIdentity")
    return context
