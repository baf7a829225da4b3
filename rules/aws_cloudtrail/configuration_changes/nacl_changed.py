"""A network ACL created, deleted, its entries changed or its subnet association replaced (CIS 4.11)."""

from iota_helpers import aws_rule_context, is_aws_service, principal, principal_key

EVENT_NAMES = {
    "CreateNetworkAcl",
    "CreateNetworkAclEntry",
    "DeleteNetworkAcl",
    "DeleteNetworkAclEntry",
    "ReplaceNetworkAclEntry",
    "ReplaceNetworkAclAssociation",
}



def rule(event):
    if event.get("eventSource") != "ec2.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    if event.get("errorCode"):
        return False
    return not is_aws_service(event)


def _acl(event):
    return (
        event.deep_get("requestParameters", "networkAclId")
        or event.deep_get("responseElements", "networkAcl", "networkAclId")
        or event.deep_get("requestParameters", "associationId")
        or "<unknown ACL>"
    )


def _entry(event):
    """A short description of the entry written, e.g. 'allow ingress 0.0.0.0/0 rule 100'."""
    number = event.deep_get("requestParameters", "ruleNumber")
    if number is None:
        return None
    action = event.deep_get("requestParameters", "ruleAction") or "?"
    direction = "egress" if event.deep_get("requestParameters", "egress") else "ingress"
    cidr = event.deep_get("requestParameters", "cidrBlock") or event.deep_get("requestParameters", "ipv6CidrBlock")
    return f"{action} {direction} {cidr} rule {number}"


def title(event):
    entry = _entry(event)
    detail = f": {entry}" if entry else ""
    return f"{principal(event)} changed network ACL {_acl(event)} ({event.get('eventName')}{detail})"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{principal_key(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["network_acl"] = _acl(event)
    context["entry"] = _entry(event)
    return context
