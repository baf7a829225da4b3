"""Small helpers for iota rule authors (`from iota_helpers import ...`).

The functions that read an event take the event object a rule receives or a plain dict
(for example a test log). With an event, key lookups are case-insensitive; with a plain dict
they are exact.

    deep_get(event, "userIdentity", "arn")            value or default
    deep_walk(event, "resources", "ARN")              also descends through lists
    is_ip_in_network("10.1.2.3", ["10.0.0.0/8"])      CIDR membership
    aws_rule_context(event)                           the usual CloudTrail fields, JSON-ready
    principal(event)                                  a readable actor: "alice", "Admin/bob"
    is_aws_service(event)                             the call was made by an AWS service
    pattern_match(value, "Delete*")                   shell-style (fnmatch) match
    pattern_match_list(value, ["Delete*", "Put*"])    any of the patterns
    principal_key(event)                              userIdentity.arn, else principal(event)
    principal_arn_matches(event, ["arn:*/ci/*"])      an allow-list check on userIdentity.arn
    is_iac_user_agent(event)                          Terraform / Pulumi made the call
    acts_on_other_user(event)                         requestParameters.userName is someone else
    sign_in_user(event)                               the user a console sign-in was for
    as_list(value)                                    one value or a list -> a list
    plain(value)                                      a JSON-ready copy of an event value
    is_true(value)                                    True, or "true" in any case
    is_false(value)                                   False, or "false" in any case
    name_from_arn(value, ":trail/")                   the name in a resource ARN
    arn_account(arn, "kms")                           the account id in an ARN
    principal_account(value)                          the account of a policy principal
    is_external_account(account, event, trusted)      neither this account nor a trusted one
    parse_policy(text)                                an IAM policy document (JSON or URL-encoded)
    policy_statements(document, effect="Allow")       its statements, as a list
    ec2_items(event, "requestParameters", "x")        an EC2 list ({"items": [...]})
    ec2_permission_grants(event, "launchPermission")  (public, accounts) a share adds
"""

import ipaddress
import json
import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from functools import lru_cache
from urllib.parse import unquote

from iota_runtime.event import deep_get as _deep_get
from iota_runtime.event import deep_walk as _deep_walk
from iota_runtime.event import plain as _plain

__all__ = [
    "IAC_USER_AGENTS",
    "acts_on_other_user",
    "arn_account",
    "as_list",
    "aws_rule_context",
    "deep_get",
    "deep_walk",
    "ec2_items",
    "ec2_permission_grants",
    "is_aws_service",
    "is_external_account",
    "is_false",
    "is_iac_user_agent",
    "is_ip_in_network",
    "is_true",
    "name_from_arn",
    "parse_policy",
    "pattern_match",
    "pattern_match_list",
    "plain",
    "policy_statements",
    "principal",
    "principal_account",
    "principal_arn_matches",
    "principal_key",
    "sign_in_user",
]


# The event module's own function, not a wrapper around it: rules call it several times on
# every event. deep_get(obj, *keys, default=None) follows `keys` under an event or a dict;
# `default` when a key is missing, a level is not a mapping, or the value is None.
deep_get = _deep_get


def deep_walk(obj, *keys, default=None, return_val="all"):
    """Like deep_get, but descends through lists and collects what it finds there.

    With return_val="all" (the default) one value found is returned as such, several as a
    list; "first" and "last" pick one. `default` when nothing is found.

    >>> deep_walk({"r": [{"id": 1}, {"id": 2}]}, "r", "id")
    [1, 2]
    """
    return _deep_walk(obj, *keys, default=default, return_val=return_val)


@lru_cache(maxsize=1024)
def _ranges(cidrs):
    """Per IP version, the networks as merged integer ranges: (sorted firsts, their lasts).
    A lookup is then one bisection, however many networks a rule lists."""
    merged = {4: [], 6: []}
    networks = sorted(
        (ipaddress.ip_network(cidr, strict=False) for cidr in cidrs),
        key=lambda network: (network.version, int(network.network_address)),
    )
    for network in networks:
        ranges = merged[network.version]
        first, last = int(network.network_address), int(network.broadcast_address)
        if ranges and first <= ranges[-1][1] + 1:
            ranges[-1][1] = max(ranges[-1][1], last)
        else:
            ranges.append([first, last])
    return {version: ([r[0] for r in ranges], [r[1] for r in ranges]) for version, ranges in merged.items()}


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
    firsts, lasts = _ranges(tuple(networks))[address.version]
    number = int(address)
    i = bisect_right(firsts, number) - 1
    return i >= 0 and number <= lasts[i]


_CONTEXT_KEYS = (
    "eventName",
    "eventSource",
    "eventID",
    "eventTime",
    "awsRegion",
    "recipientAccountId",
    "sourceIPAddress",
    "userAgent",
)
_CONTEXT_IDENTITY_KEYS = ("type", "arn", "accountId", "principalId", "userName", "invokedBy")


def aws_rule_context(event):
    """The CloudTrail fields an analyst looks at first, as a plain dict for alert_context().

    Keys: eventName, eventSource, eventID, eventTime, awsRegion, recipientAccountId,
    sourceIPAddress, userAgent, principal, userIdentity (type, arn, accountId, principalId,
    userName, invokedBy), errorCode, errorMessage, mfaUsed, requestParameters.
    Missing fields are None."""
    user_identity = deep_get(event, "userIdentity")
    identity = {key: _plain(deep_get(user_identity, key)) for key in _CONTEXT_IDENTITY_KEYS}
    context = {key: _plain(deep_get(event, key)) for key in _CONTEXT_KEYS}
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


def principal_key(event):
    """Who made the call, as a key for dedup(): userIdentity.arn, or principal(event) when the
    event carries no ARN (some service and account identities).

    >>> principal_key({"userIdentity": {"type": "Root", "arn": "arn:aws:iam::111122223333:root"}})
    'arn:aws:iam::111122223333:root'
    >>> principal_key({"userIdentity": {"type": "AWSAccount", "accountId": "444455556666"}})
    'account:444455556666'
    """
    return deep_get(event, "userIdentity", "arn") or principal(event)


def principal_arn_matches(event, patterns):
    """True when userIdentity.arn matches any of `patterns` (shell-style, see pattern_match):
    the usual allow-list check for principals expected to do what a rule looks for. An event
    without an ARN is matched as "" (only the pattern "*" matches it).

    >>> principal_arn_matches({"userIdentity": {"arn": "arn:aws:sts::1:assumed-role/ci/x"}},
    ...                       ["arn:aws:sts::*:assumed-role/ci/*"])
    True
    """
    return pattern_match_list(deep_get(event, "userIdentity", "arn", default=""), patterns)


# User agents of infrastructure-as-code tools, which read, change and delete whole fleets of
# resources on each run (shell-style patterns).
IAC_USER_AGENTS = ("*terraform-provider-aws*", "*pulumi-aws*")


def is_iac_user_agent(event):
    """True when the userAgent names an infrastructure-as-code tool (IAC_USER_AGENTS:
    Terraform's AWS provider, Pulumi). A client chooses its user agent: use it to quiet
    routine automation, never as proof.

    >>> is_iac_user_agent({"userAgent": "APN/1.0 HashiCorp/1.0 Terraform/1.5.7 terraform-provider-aws/5.31.0"})
    True
    """
    return pattern_match_list(deep_get(event, "userAgent") or "", IAC_USER_AGENTS)


def acts_on_other_user(event):
    """True when the call names an IAM user (requestParameters.userName) other than the
    caller's own userIdentity.userName. IAM calls without userName act on the caller.

    >>> acts_on_other_user({"userIdentity": {"userName": "alice"}, "requestParameters": {"userName": "bob"}})
    True
    """
    target = deep_get(event, "requestParameters", "userName")
    return bool(target) and target != deep_get(event, "userIdentity", "userName")


# What CloudTrail writes as the user name of a failed sign-in for a user that does not exist.
_HIDDEN_USER_NAME = "HIDDEN_DUE_TO_SECURITY_REASONS"


def sign_in_user(event):
    """The user a console sign-in (or attempt) was for: "root" for the root user, else
    userIdentity.userName; None when CloudTrail hides the name (HIDDEN_DUE_TO_SECURITY_REASONS:
    no such user in the account) or gives none.

    >>> sign_in_user({"userIdentity": {"type": "IAMUser", "userName": "HIDDEN_DUE_TO_SECURITY_REASONS"}}) is None
    True
    """
    if deep_get(event, "userIdentity", "type") == "Root":
        return "root"
    name = deep_get(event, "userIdentity", "userName")
    if not name or name == _HIDDEN_USER_NAME:
        return None
    return name


def _is_list(value):
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def as_list(value):
    """`value` as a list, for fields CloudTrail writes as one value or as a list (S3 writes a
    one-element XML list as the element itself): None -> [], a list -> a list of its
    elements, anything else (an object, a string, a number) -> [value].

    >>> as_list({"Effect": "Allow"}), as_list(["a", "b"]), as_list(None)
    ([{'Effect': 'Allow'}], ['a', 'b'], [])
    """
    if value is None:
        return []
    if _is_list(value):
        return list(value)
    return [value]


def plain(value):
    """A plain, independent copy of an event value (dicts, lists and scalars), ready for
    json.dumps or an alert context; plain data is copied as it is.

    >>> plain({"a": [1, {"b": None}]})
    {'a': [1, {'b': None}]}
    """
    return _plain(value)


def is_true(value):
    """True for True and for the string "true" in any case (request parameters arrive either
    way); False for everything else, None included.

    >>> is_true("TRUE"), is_true(1), is_true(None)
    (True, False, False)
    """
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_false(value):
    """True for False and for the string "false" in any case; False for everything else:
    a missing value (None) is not false.

    >>> is_false("False"), is_false(0), is_false(None)
    (True, False, False)
    """
    return value is False or (isinstance(value, str) and value.lower() == "false")


def name_from_arn(value, *markers):
    """The part of `value` after the first of `markers` it contains, for resources given by
    name or by ARN; `value` unchanged when it is not a string or contains none of them.

    >>> name_from_arn("arn:aws:cloudtrail:us-east-1:111122223333:trail/main", ":trail/")
    'main'
    >>> name_from_arn("main", ":trail/")
    'main'
    """
    if isinstance(value, str):
        for marker in markers:
            if marker in value:
                return value.split(marker, 1)[1]
    return value


_ARN_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:([a-z0-9-]+):[a-z0-9-]*:(\d{12}):")


def arn_account(arn, service=None):
    """The 12-digit account id of an ARN ("arn:partition:service:region:account:..."), or
    None: not a string, not an ARN, an ARN without an account (S3 buckets, AWS managed
    policies), or, when `service` is given, an ARN of another service.

    >>> arn_account("arn:aws:kms:us-east-1:111122223333:key/1234abcd", "kms")
    '111122223333'
    >>> arn_account("arn:aws:s3:::my-bucket") is None
    True
    """
    match = _ARN_ACCOUNT.match(arn) if isinstance(arn, str) else None
    if match is None or (service is not None and match.group(1) != service):
        return None
    return match.group(2)


_BARE_ACCOUNT = re.compile(r"\d{12}")
_PRINCIPAL_ARN_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):")


def principal_account(value):
    """The account of an AWS principal as policies name it: a bare 12-digit account id, or
    the account of an IAM or STS ARN (root, user, role, assumed role). None for anything
    else: "*", service principals, CloudFront origin access identities, non-strings.

    >>> principal_account("arn:aws:iam::444455556666:root"), principal_account("444455556666")
    ('444455556666', '444455556666')
    >>> principal_account("lambda.amazonaws.com") is None
    True
    """
    if not isinstance(value, str):
        return None
    if _BARE_ACCOUNT.fullmatch(value):
        return value
    match = _PRINCIPAL_ARN_ACCOUNT.match(value)
    return match.group(1) if match else None


def is_external_account(account, event, trusted=()):
    """True when `account` (an account id) is set, is not the account the event was recorded
    in (recipientAccountId) and is not in `trusted` (account ids). Values are compared as
    strings.

    >>> is_external_account("444455556666", {"recipientAccountId": "111122223333"})
    True
    >>> is_external_account("444455556666", {"recipientAccountId": "111122223333"}, {"444455556666"})
    False
    """
    if not account:
        return False
    account = str(account)
    return account != str(deep_get(event, "recipientAccountId")) and account not in trusted


def parse_policy(text):
    """An IAM policy document given as text (IAM's requestParameters.policyDocument: JSON,
    URL-encoded by some clients) as a dict; None when `text` is not a string or not a JSON
    object.

    >>> parse_policy('%7B%22Version%22%3A%222012-10-17%22%7D')
    {'Version': '2012-10-17'}
    """
    if not isinstance(text, str):
        return None
    if text.lstrip().startswith("%7B"):
        text = unquote(text)
    try:
        document = json.loads(text)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def policy_statements(document, effect=None):
    """The statements of a policy document (a mapping: see parse_policy for text) as a list
    of mappings, whether Statement is one statement or a list; only those with this Effect
    when `effect` is given. [] when `document` is not a mapping.

    >>> policy_statements({"Statement": {"Effect": "Allow", "Action": "s3:*"}}, effect="Allow")
    [{'Effect': 'Allow', 'Action': 's3:*'}]
    """
    if not isinstance(document, Mapping):
        return []
    return [
        statement
        for statement in as_list(document.get("Statement"))
        if isinstance(statement, Mapping) and (effect is None or statement.get("Effect") == effect)
    ]


def ec2_items(value, *keys):
    """The mappings of the EC2 list at `keys` below `value`: EC2 requests and responses write
    a list as {"items": [...]}, so this reads `keys` + "items". [] when it is missing or not
    a list.

    >>> ec2_items({"instancesSet": {"items": [{"instanceId": "i-1"}]}}, "instancesSet")
    [{'instanceId': 'i-1'}]
    """
    items = deep_get(value, *keys, "items")
    if not _is_list(items):
        return []
    return [item for item in items if isinstance(item, Mapping)]


def ec2_permission_grants(event, permission, trusted=()):
    """(public, [account ids]) that an EC2 Modify*Attribute call adds to `permission`
    (launchPermission of an AMI, createVolumePermission of a snapshot): public when the
    group "all" is added; the accounts other than the event's own and `trusted`.

    >>> ec2_permission_grants({"recipientAccountId": "111122223333", "requestParameters":
    ...     {"launchPermission": {"add": {"items": [{"userId": "444455556666"}]}}}}, "launchPermission")
    (False, ['444455556666'])
    """
    items = ec2_items(event, "requestParameters", permission, "add")
    public = any(item.get("group") == "all" for item in items)
    accounts = [
        str(item.get("userId")) for item in items if is_external_account(item.get("userId"), event, trusted)
    ]
    return public, accounts
