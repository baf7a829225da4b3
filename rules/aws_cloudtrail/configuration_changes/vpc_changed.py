"""A VPC created, deleted or modified, or a VPC peering or ClassicLink connection changed (CIS 4.14)."""

from iota_helpers import aws_rule_context, is_aws_service, is_external_account, principal, principal_key

EVENT_NAMES = {
    "CreateVpc",
    "DeleteVpc",
    "ModifyVpcAttribute",
    "AcceptVpcPeeringConnection",
    "CreateVpcPeeringConnection",
    "DeleteVpcPeeringConnection",
    "RejectVpcPeeringConnection",
    "AttachClassicLinkVpc",
    "DetachClassicLinkVpc",
    "DisableVpcClassicLink",
    "EnableVpcClassicLink",
}
PEERING_OPENED = {"CreateVpcPeeringConnection", "AcceptVpcPeeringConnection"}



def rule(event):
    if event.get("eventSource") != "ec2.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    if event.get("errorCode"):
        return False
    return not is_aws_service(event)


def _peer_accounts(event):
    """Accounts other than this one on either side of a peering being requested or accepted."""
    if event.get("eventName") not in PEERING_OPENED:
        return []
    owners = {
        event.deep_get("requestParameters", "peerOwnerId"),
        event.deep_get("responseElements", "vpcPeeringConnection", "accepterVpcInfo", "ownerId"),
        event.deep_get("responseElements", "vpcPeeringConnection", "requesterVpcInfo", "ownerId"),
    }
    return sorted(str(owner) for owner in owners if is_external_account(owner, event))


def _object(event):
    return (
        event.deep_get("requestParameters", "vpcPeeringConnectionId")
        or event.deep_get("responseElements", "vpcPeeringConnection", "vpcPeeringConnectionId")
        or event.deep_get("requestParameters", "vpcId")
        or event.deep_get("responseElements", "vpc", "vpcId")
        or "<unknown VPC>"
    )


def title(event):
    peers = _peer_accounts(event)
    if peers:
        return (
            f"{principal(event)} ran {event.get('eventName')} on {_object(event)} "
            f"with account {', '.join(peers)}"
        )
    return f"{principal(event)} changed VPC configuration: {event.get('eventName')} on {_object(event)}"


def severity(event):
    # Network connectivity to another account is a trust decision, not routine plumbing.
    return "MEDIUM" if _peer_accounts(event) else "DEFAULT"


def dedup(event):
    # The elevated changes get their own alert, so routine changes earlier in the hour cannot
    # hide them under a Low alert.
    kind = "cross-account-peering" if _peer_accounts(event) else "routine"
    return f"{event.get('recipientAccountId')}:{principal_key(event)}:{kind}"


def alert_context(event):
    context = aws_rule_context(event)
    context["vpc_or_peering"] = _object(event)
    context["peer_accounts"] = _peer_accounts(event)
    return context
