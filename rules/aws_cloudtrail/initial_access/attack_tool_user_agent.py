"""API calls or console sign-ins whose user agent names offensive tooling or a pentest distribution.

Stratus Red Team user agents are the native rule AWS.StratusRedTeamUserAgent
(stratus_red_team_user_agent.yml): a tool that announces itself on every call needs no Python.
"""

import re

from iota_helpers import aws_rule_context, principal

# Offensive tools that announce themselves, and penetration-testing distributions that SDKs and
# the AWS CLI name in their user agent (platform / distrib fields, kernel release): the name,
# a lower-case word that must appear, and the pattern that confirms it.
TOOLS = (
    ("Kali Linux", "kali", re.compile(r"(?i)(?:^|[^a-z])kali(?:[^a-z]|$)")),
    ("Parrot OS", "parrot", re.compile(r"(?i)(?:^|[^a-z])parrot(?:[^a-z]|$)")),
    ("Pentoo", "pentoo", re.compile(r"(?i)(?:^|[^a-z])pentoo(?:[^a-z]|$)")),
    ("Pacu", "pacu", re.compile(r"(?i)(?:^|[^a-z])pacu(?:[^a-z]|$)")),
)

EVENT_TYPES = {"AwsApiCall", "AwsConsoleSignIn"}

# Every function of a match asks for the tool: the last event's answer is kept.
_last = (None, None)


def _tool(event):
    global _last
    if _last[0] is event:
        return _last[1]
    agent = event.get("userAgent") or ""
    lower = agent.lower()
    tool = None
    for name, word, pattern in TOOLS:
        if word in lower and pattern.search(agent):
            tool = name
            break
    _last = (event, tool)
    return tool


def rule(event):
    if event.get("eventType") not in EVENT_TYPES:
        return False
    return _tool(event) is not None


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
