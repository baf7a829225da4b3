"""A security group created, deleted, or its rules changed (CIS 4.10)."""

from iota_helpers import aws_rule_context, ec2_items, is_aws_service, principal, principal_key

EVENT_NAMES = {
    "AuthorizeSecurityGroupIngress",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress",
    "CreateSecurityGroup",
    "DeleteSecurityGroup",
    "ModifySecurityGroupRules",
}
WORLD = {"0.0.0.0/0", "::/0"}
WEB_PORTS = {80, 443}



def rule(event):
    if event.get("eventSource") != "ec2.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    if event.get("errorCode"):
        return False
    return not is_aws_service(event)


def _world_ranges(permission):
    cidrs = [permission.get("cidrIp"), permission.get("cidrIpv6")]
    cidrs += [item.get("cidrIp") for item in ec2_items(permission, "ipRanges")]
    cidrs += [item.get("cidrIpv6") for item in ec2_items(permission, "ipv6Ranges")]
    return [cidr for cidr in cidrs if cidr in WORLD]


def _describe(permission):
    """'tcp/22', 'udp/1000-2000' or 'all traffic', or None for a web port (TCP 80/443)."""
    protocol = str(permission.get("ipProtocol"))
    low, high = permission.get("fromPort"), permission.get("toPort")
    if protocol == "-1":
        return "all traffic"
    if protocol in ("tcp", "6") and low == high and low in WEB_PORTS:
        return None
    return f"{protocol}/{low}" if low == high else f"{protocol}/{low}-{high}"


def _open_to_world(event):
    """Ingress rules added from 0.0.0.0/0 or ::/0 to anything but a web port."""
    if event.get("eventName") != "AuthorizeSecurityGroupIngress":
        return []
    request = event.get("requestParameters") or {}
    # The API takes either IpPermissions or, in its older form, one rule as flat parameters
    # (cidrIp, ipProtocol, fromPort, toPort); CloudTrail records whichever was sent.
    permissions = ec2_items(request, "ipPermissions") + [request]
    opened = []
    for permission in permissions:
        if _world_ranges(permission):
            described = _describe(permission)
            if described:
                opened.append(described)
    return opened


def _group(event):
    return (
        event.deep_get("requestParameters", "groupId")
        or event.deep_get("responseElements", "groupId")
        or event.deep_get("requestParameters", "ModifySecurityGroupRulesRequest", "GroupId")
        or event.deep_get("requestParameters", "groupName")
        or "<unknown group>"
    )


def title(event):
    opened = _open_to_world(event)
    if opened:
        return f"{principal(event)} opened security group {_group(event)} to the internet ({', '.join(opened)})"
    return f"{principal(event)} changed security group {_group(event)} ({event.get('eventName')})"


def severity(event):
    # Admin and database ports reachable from anywhere are worth a faster look.
    return "MEDIUM" if _open_to_world(event) else "DEFAULT"


def dedup(event):
    # The elevated changes get their own alert, so routine changes earlier in the hour cannot
    # hide them under a Low alert.
    kind = "opened-to-world" if _open_to_world(event) else "routine"
    return f"{event.get('recipientAccountId')}:{principal_key(event)}:{kind}"


def alert_context(event):
    context = aws_rule_context(event)
    context["security_group"] = _group(event)
    context["vpc_id"] = event.deep_get("requestParameters", "vpcId")
    context["opened_to_world"] = _open_to_world(event)
    return context
