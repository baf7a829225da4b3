"""Small helpers for iota rule authors (`from iota_helpers import ...`).

Every function takes the event object a rule receives or a plain dict (for example a test
log). With an event, key lookups are case-insensitive; with a plain dict they are exact.

    deep_get(event, "userIdentity", "arn")            value or default
    deep_walk(event, "resources", "ARN")              also descends through lists
    is_ip_in_network("10.1.2.3", ["10.0.0.0/8"])      CIDR membership
    aws_rule_context(event)                           the usual CloudTrail fields, JSON-ready
    principal(event)                                  a readable actor: "alice", "Admin/bob"
    is_aws_service(event)                             the call was made by an AWS service
    pattern_match(value, "Delete*")                   shell-style (fnmatch) match
    pattern_match_list(value, ["Delete*", "Put*"])    any of the patterns
"""

import ipaddress
from fnmatch import fnmatchcase
from functools import lru_cache

from iota_runtime.event import deep_get as _deep_get
from iota_runtime.event import deep_walk as _deep_walk
from iota_runtime.event import plain as _plain

__all__ = [
    "aws_rule_context",
    "deep_get",
    "deep_walk",
    "is_aws_service",
    "is_ip_in_network",
    "pattern_match",
    "pattern_match_list",
    "principal",
]


def deep_get(obj, *keys, default=None):
    """The value at `keys` under `obj` (an event or a dict); `default` when any key is
    missing, a level is not a mapping, or the value is None.

    >>> deep_get({"a": {"b": 1}}, "a", "b")
    1
    """
    return _deep_get(obj, *keys, default=default)


def deep_walk(obj, *keys, default=None, return_val="all"):
    """Like deep_get, but descends through lists and collects what it finds there.

    With return_val="all" (the default) one value found is returned as such, several as a
    list; "first" and "last" pick one. `default` when nothing is found.

    >>> deep_walk({"r": [{"id": 1}, {"id": 2}]}, "r", "id")
    [1, 2]
    """
    return _deep_walk(obj, *keys, default=default, return_val=return_val)


@lru_cache(maxsize=1024)
def _networks(cidrs):
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def is_ip_in_network(ip, networks):
    """True when `ip` (a string) falls inside any of `networks` (CIDR strings, or one CIDR
    string). An empty or unparseable address is False; an invalid CIDR raises ValueError.

    >>> is_ip_in_network("10.1.2.3", ["192.168.0.0/16", "10.0.0.0/8"])
    True
    """
    if isinstance(networks, str):
        networks = (networks,)
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in _networks(tuple(networks)))


def aws_rule_context(event):
    """The CloudTrail fields an analyst looks at first, as a plain dict for alert_context().

    Keys: eventName, eventSource, eventID, eventTime, awsRegion, recipientAccountId,
    sourceIPAddress, userAgent, principal, userIdentity (type, arn, accountId, principalId,
    userName, invokedBy), errorCode, errorMessage, mfaUsed, requestParameters.
    Missing fields are None."""
    identity = {
        key: _plain(deep_get(event, "userIdentity", key))
        for key in ("type", "arn", "accountId", "principalId", "userName", "invokedBy")
    }
    context = {
        key: _plain(deep_get(event, key))
        for key in (
            "eventName",
            "eventSource",
            "eventID",
            "eventTime",
            "awsRegion",
            "recipientAccountId",
            "sourceIPAddress",
            "userAgent",
        )
    }
    context["principal"] = principal(event)
    context["userIdentity"] = identity
    context["errorCode"] = _plain(deep_get(event, "errorCode"))
    context["errorMessage"] = _plain(deep_get(event, "errorMessage"))
    context["mfaUsed"] = _plain(deep_get(event, "additionalEventData", "MFAUsed"))
    context["requestParameters"] = _plain(deep_get(event, "requestParameters"))
    return context


def _after(text, marker):
    """The part of `text` after the first `marker`, or None."""
    if isinstance(text, str) and marker in text:
        return text.split(marker, 1)[1] or None
    return None


def principal(event):
    """A readable name for who made the call, from userIdentity:

    Root -> "root"; IAMUser -> the user name; AssumedRole -> "RoleName/session";
    FederatedUser -> the federated user; AWSService -> the service ("ec2.amazonaws.com");
    AWSAccount -> "account:<id>"; anything else -> userName, ARN or principalId.
    "unknown" when the event says nothing about it.
    """
    kind = deep_get(event, "userIdentity", "type")
    arn = deep_get(event, "userIdentity", "arn")
    user_name = deep_get(event, "userIdentity", "userName")
    if kind == "Root":
        return "root"
    if kind == "IAMUser" and user_name:
        return user_name
    if kind == "AssumedRole":
        role_session = _after(arn, ":assumed-role/")
        if role_session:
            return role_session
        issuer = deep_get(event, "userIdentity", "sessionContext", "sessionIssuer", "userName")
        if issuer:
            return issuer
    if kind == "FederatedUser":
        federated = _after(arn, ":federated-user/")
        if federated:
            return federated
    if kind == "AWSService":
        service = deep_get(event, "userIdentity", "invokedBy") or deep_get(event, "eventSource")
        if service:
            return service
    if kind == "AWSAccount":
        account = deep_get(event, "userIdentity", "accountId")
        if account:
            return f"account:{account}"
    for fallback in (user_name, arn, deep_get(event, "userIdentity", "principalId")):
        if isinstance(fallback, str) and fallback:
            return fallback
    return "unknown"


def _is_service_name(value):
    return isinstance(value, str) and (value.endswith(".amazonaws.com") or value == "AWS Internal")


def is_aws_service(event):
    """True when an AWS service made the call: userIdentity.type is AWSService,
    sourceIPAddress / userIdentity.invokedBy names a service ("*.amazonaws.com",
    "AWS Internal"), or the session belongs to a service-linked role (issuer ARN under
    `/aws-service-role/`), which only its service can assume."""
    issuer = deep_get(event, "userIdentity", "sessionContext", "sessionIssuer", "arn", default="")
    return (
        deep_get(event, "userIdentity", "type") == "AWSService"
        or _is_service_name(deep_get(event, "sourceIPAddress"))
        or _is_service_name(deep_get(event, "userIdentity", "invokedBy"))
        or "/aws-service-role/" in str(issuer)
    )


def pattern_match(value, pattern):
    """Shell-style, case-sensitive match of `value` against `pattern` (`*`, `?`, `[seq]`);
    False for None.

    >>> pattern_match("DeleteTrail", "Delete*")
    True
    """
    if value is None:
        return False
    return fnmatchcase(str(value), pattern)


def pattern_match_list(value, patterns):
    """True when `value` matches any of `patterns` (see pattern_match)."""
    return any(pattern_match(value, pattern) for pattern in patterns)
