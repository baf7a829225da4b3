"""One principal calling many different read-only List/Describe/Get APIs in a short time."""

import re

from iota_helpers import IAC_USER_AGENTS, aws_rule_context, is_aws_service, pattern_match_list, principal, principal_arn_matches

READ_API = re.compile(r"^(List|Describe|Get|Search|Lookup)[A-Z]")

# Read calls that are routine plumbing rather than reconnaissance.
IGNORED_EVENT_NAMES = {
    "GetCallerIdentity",
    "GetSessionToken",
    "GetFederationToken",
    "GetRoleCredentials",
    "GetSigninToken",
    "GetAuthorizationToken",
    "GetBucketLocation",
}

# Console pages issue their own bursts of Describe calls when a person browses them, and
# infrastructure-as-code tools read every managed resource on each plan/refresh.
IGNORED_USER_AGENTS = [
    "*aws-internal/*",
    "*Console*",
    "Mozilla/*",
    "AWS Internal",
    *IAC_USER_AGENTS,
]

# Inventory and posture-management principals (CSPM scanners, Config-like tools), matched
# against userIdentity.arn with fnmatch wildcards. Empty by default: add yours.
ALLOWED_PRINCIPAL_ARNS = []


def allowed_principal_arns():
    """The allow-list (a function so that tests can mock it)."""
    return ALLOWED_PRINCIPAL_ARNS


def rule(event):
    if event.get("readOnly") is not True:
        return False
    name = event.get("eventName") or ""
    if not READ_API.match(name) or name in IGNORED_EVENT_NAMES:
        return False
    if event.get("eventCategory") not in (None, "Management") or event.get("managementEvent") is False:
        return False  # object reads (GetObject) are data access, not enumeration
    if is_aws_service(event) or event.get("sessionCredentialFromConsole") == "true":
        return False
    if event.deep_get("userIdentity", "type") in ("AWSService", "AWSAccount"):
        return False
    if pattern_match_list(event.get("userAgent") or "", IGNORED_USER_AGENTS):
        return False
    return not principal_arn_matches(event, allowed_principal_arns())


def unique(event):
    # Distinct APIs, not calls: a monitor polling DescribeInstances all day is not a survey.
    return f"{event.get('eventSource')}:{event.get('eventName')}"


def title(event):
    return (
        f"{principal(event)} enumerated many AWS APIs (List/Describe/Get) in account "
        f"{event.get('recipientAccountId')}"
    )


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('userIdentity', 'arn')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["access_key_id"] = event.deep_get("userIdentity", "accessKeyId")
    return context
