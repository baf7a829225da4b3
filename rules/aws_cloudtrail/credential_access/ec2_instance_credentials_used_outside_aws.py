"""Temporary credentials of an EC2 instance role used from an address outside AWS (stolen from IMDS)."""

import ipaddress
import re

from iota_helpers import aws_rule_context, is_aws_service, is_ip_in_network

# Session names EC2 gives instance-profile credentials: the instance id. SSM hybrid nodes use
# "mi-..." and legitimately call from on-premises addresses, so they do not match.
INSTANCE_SESSION = re.compile(r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$")

# A coarse summary of the large address blocks AWS announces for EC2 and its own services
# (from AWS's published ip-ranges.json; not exhaustive). Calls from these are the instance
# itself, a NAT gateway or another AWS-hosted client. Replace with the full, current list
# from https://ip-ranges.amazonaws.com/ip-ranges.json if you can keep it up to date.
AWS_NETWORKS = (
    "3.0.0.0/8",
    "13.32.0.0/15",
    "13.35.0.0/16",
    "13.48.0.0/13",
    "13.56.0.0/14",
    "13.112.0.0/14",
    "13.124.0.0/14",
    "13.208.0.0/13",
    "13.224.0.0/12",
    "15.152.0.0/16",
    "15.160.0.0/15",
    "15.177.0.0/16",
    "15.184.0.0/15",
    "15.188.0.0/16",
    "15.197.0.0/16",
    "15.200.0.0/16",
    "15.206.0.0/15",
    "15.220.0.0/14",
    "15.228.0.0/15",
    "15.236.0.0/15",
    "16.16.0.0/16",
    "16.170.0.0/15",
    "18.128.0.0/9",
    "23.20.0.0/14",
    "34.192.0.0/10",
    "35.156.0.0/14",
    "35.160.0.0/12",
    "35.176.0.0/13",
    "44.192.0.0/10",
    "46.51.128.0/17",
    "46.137.0.0/16",
    "50.16.0.0/15",
    "50.18.0.0/15",
    "50.112.0.0/16",
    "52.0.0.0/10",
    "52.64.0.0/11",
    "52.192.0.0/11",
    "54.64.0.0/11",
    "54.80.0.0/12",
    "54.144.0.0/12",
    "54.160.0.0/11",
    "54.192.0.0/10",
    "63.32.0.0/14",
    "67.202.0.0/18",
    "72.44.32.0/19",
    "75.101.128.0/17",
    "79.125.0.0/17",
    "99.79.0.0/16",
    "99.80.0.0/15",
    "100.20.0.0/14",
    "100.24.0.0/13",
    "107.20.0.0/14",
    "174.129.0.0/16",
    "175.41.128.0/17",
    "176.32.64.0/19",
    "176.34.0.0/16",
    "184.72.0.0/15",
    "184.169.128.0/17",
    "204.236.128.0/17",
    "216.182.224.0/20",
    "2406:da00::/24",
    "2600:1f00::/24",
    "2600:9000::/28",
    "2a05:d000::/25",
)

# RFC 1918 / unique-local space. An instance's own calls only carry such an address when they
# come through a VPC endpoint (and then vpcEndpointId is set).
PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")

# Your own egress ranges that legitimately carry instance traffic (an on-premises proxy the
# instances go through, a partner NAT). Empty by default.
TRUSTED_NETWORKS = ()


def _session_name(event):
    arn = event.deep_get("userIdentity", "arn", default="") or ""
    if ":assumed-role/" not in arn:
        return None
    return arn.rsplit("/", 1)[-1]


def _address(event):
    try:
        return ipaddress.ip_address(str(event.get("sourceIPAddress")))
    except ValueError:
        return None


def rule(event):
    if event.deep_get("userIdentity", "type") != "AssumedRole":
        return False
    session = _session_name(event)
    if not session or not INSTANCE_SESSION.match(session):
        return False
    if is_aws_service(event) or event.get("vpcEndpointId"):
        # Calls relayed by an AWS service, or arriving through a VPC endpoint, come from AWS.
        return False
    address = _address(event)
    if address is None:
        return False
    source = str(address)
    if is_ip_in_network(source, AWS_NETWORKS) or (TRUSTED_NETWORKS and is_ip_in_network(source, TRUSTED_NETWORKS)):
        return False
    # A public address outside AWS, or a private one without a VPC endpoint (which an
    # instance's own calls never show): either way, not the instance.
    return not (address.is_loopback or address.is_link_local or address.is_multicast or address.is_unspecified)


def severity(event):
    # Private source without a VPC endpoint: odd (a proxy, or anonymised logs) but less
    # certain than a public address outside AWS.
    return "MEDIUM" if is_ip_in_network(str(event.get("sourceIPAddress")), PRIVATE_NETWORKS) else "DEFAULT"


def _role(event):
    return event.deep_get("userIdentity", "sessionContext", "sessionIssuer", "userName", default="<unknown role>")


def title(event):
    return (
        f"Credentials of EC2 instance {_session_name(event)} (role {_role(event)}) used from "
        f"{event.get('sourceIPAddress')}, outside AWS, to call {event.get('eventName')}"
    )


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('userIdentity', 'arn')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["instance_id"] = _session_name(event)
    context["role"] = _role(event)
    context["role_arn"] = event.deep_get("userIdentity", "sessionContext", "sessionIssuer", "arn")
    context["access_key_id"] = event.deep_get("userIdentity", "accessKeyId")
    context["session_created"] = event.deep_get("userIdentity", "sessionContext", "attributes", "creationDate")
    return context
