"""A VPC network gateway (internet, NAT, VPN, transit, ...) created, deleted or (de)attached (CIS 4.12)."""

from collections.abc import Mapping, Sequence

from iota_helpers import aws_rule_context, is_aws_service, principal, principal_key

EVENT_NAMES = {
    # CIS 4.12 event set
    "CreateCustomerGateway",
    "DeleteCustomerGateway",
    "AttachInternetGateway",
    "CreateInternetGateway",
    "DeleteInternetGateway",
    "DetachInternetGateway",
    # the other gateways that open or close a path in or out of a VPC
    "CreateEgressOnlyInternetGateway",
    "DeleteEgressOnlyInternetGateway",
    "CreateNatGateway",
    "DeleteNatGateway",
    "CreateVpnGateway",
    "DeleteVpnGateway",
    "AttachVpnGateway",
    "DetachVpnGateway",
    "CreateTransitGateway",
    "DeleteTransitGateway",
    "CreateTransitGatewayVpcAttachment",
    "DeleteTransitGatewayVpcAttachment",
}



def rule(event):
    if event.get("eventSource") != "ec2.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    if event.get("errorCode"):
        return False
    return not is_aws_service(event)


def _find(value, wanted, depth=5):
    """The first string under a key ending in `wanted` (case-insensitive), searched breadth-first."""
    level = [value]
    for _ in range(depth):
        below = []
        for item in level:
            if isinstance(item, Mapping):
                for key, child in item.items():
                    if isinstance(child, str) and str(key).lower().endswith(wanted):
                        return child
                    below.append(child)
            elif isinstance(item, Sequence) and not isinstance(item, str):
                below.extend(item)
        level = below
    return None


def _gateway(event):
    # Request shapes differ (internetGatewayId, DeleteNatGatewayRequest.NatGatewayId, ...);
    # creations only name the new gateway in the response.
    return (
        _find(event.get("requestParameters"), "gatewayid")
        or _find(event.get("responseElements"), "gatewayid")
        or _find(event.get("requestParameters"), "attachmentid")
        or _find(event.get("responseElements"), "attachmentid")
        or "<unknown gateway>"
    )


def _vpc(event):
    return _find(event.get("requestParameters"), "vpcid") or _find(event.get("responseElements"), "vpcid")


def title(event):
    vpc = _vpc(event)
    where = f" (VPC {vpc})" if vpc else ""
    return f"{principal(event)} ran {event.get('eventName')} on network gateway {_gateway(event)}{where}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{principal_key(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["gateway"] = _gateway(event)
    context["vpc_id"] = _vpc(event)
    return context
