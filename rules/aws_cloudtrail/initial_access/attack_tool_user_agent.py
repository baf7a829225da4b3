"""API calls or console sign-ins whose user agent names offensive tooling or a pentest distribution."""

import re

from iota_helpers import aws_rule_context, principal

# Offensive tools that announce themselves, and penetration-testing distributions that SDKs and
# the AWS CLI name in their user agent (platform / distrib fields, kernel release).
TOOLS = (
    ("Kali Linux", re.compile(r"(?i)(?:^|[^a-z])kali(?:[^a-z]|$)")),
    ("Parrot OS", re.compile(r"(?i)(?:^|[^a-z])parrot(?:[^a-z]|$)")),
    ("Pentoo", re.compile(r"(?i)(?:^|[^a-z])pentoo(?:[^a-z]|$)")),
    ("Pacu", re.compile(r"(?i)(?:^|[^a-z])pacu(?:[^a-z]|$)")),
    ("Stratus Red Team", re.compile(r"(?i)stratus-red-team")),
)

EVENT_TYPES = {"AwsApiCall", "AwsConsoleSignIn"}


def _tool(event):
    agent = event.get("userAgent") or ""
    for name, pattern in TOOLS:
        if pattern.search(agent):
            return name
    return None


def rule(event):
    if event.get("eventType") not in EVENT_TYPES:
        return False
    return _tool(event) is not None


def severity(event):
    # Red-team tooling announces itself on purpose: usually an exercise, still to be confirmed.
    return "LOW" if _tool(event) == "Stratus Red Team" else "DEFAULT"


def title(event):
    return (
        f"{principal(event)} called {event.get('eventName')} with {_tool(event)} "
        f"(user agent) from {event.get('sourceIPAddress')}"
    )


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('userIdentity', 'arn')}:{_tool(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["tool"] = _tool(event)
    context["access_key_id"] = event.deep_get("userIdentity", "accessKeyId")
    return context
