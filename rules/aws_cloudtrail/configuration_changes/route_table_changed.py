"""A VPC route table or route created, replaced, deleted, or a subnet association changed (CIS 4.13)."""

from iota_helpers import aws_rule_context, is_aws_service, principal, principal_key

EVENT_NAMES = {
    # CIS 4.13 event set
    "CreateRoute",
    "CreateRouteTable",
    "ReplaceRoute",
    "ReplaceRouteTableAssociation",
    "DeleteRouteTable",
    "DeleteRoute",
    "DisassociateRouteTable",
    # the counterpart of DisassociateRouteTable: moves a subnet onto another table
    "AssociateRouteTable",
}
ROUTE_TARGETS = (
    "gatewayId",
    "natGatewayId",
    "instanceId",
    "networkInterfaceId",
    "vpcPeeringConnectionId",
    "transitGatewayId",
    "egressOnlyInternetGatewayId",
    "localGatewayId",
    "carrierGatewayId",
    "vpcEndpointId",
)



def rule(event):
    if event.get("eventSource") != "ec2.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    if event.get("errorCode"):
        return False
    return not is_aws_service(event)


def _table(event):
    return (
        event.deep_get("requestParameters", "routeTableId")
        or event.deep_get("responseElements", "routeTable", "routeTableId")
        or event.deep_get("requestParameters", "associationId")
        or "<unknown route table>"
    )


def _route(event):
    """'destination -> target' for route writes, else None."""
    destination = (
        event.deep_get("requestParameters", "destinationCidrBlock")
        or event.deep_get("requestParameters", "destinationIpv6CidrBlock")
        or event.deep_get("requestParameters", "destinationPrefixListId")
    )
    if not destination:
        return None
    for key in ROUTE_TARGETS:
        target = event.deep_get("requestParameters", key)
        if target:
            return f"{destination} -> {target}"
    return str(destination)


def title(event):
    route = _route(event)
    detail = f": {route}" if route else ""
    return f"{principal(event)} changed route table {_table(event)} ({event.get('eventName')}{detail})"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{principal_key(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["route_table"] = _table(event)
    context["route"] = _route(event)
    context["subnet_id"] = event.deep_get("requestParameters", "subnetId")
    context["vpc_id"] = event.deep_get("requestParameters", "vpcId")
    return context
