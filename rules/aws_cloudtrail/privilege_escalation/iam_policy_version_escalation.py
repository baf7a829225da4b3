"""A new default version of a managed policy that grants sweeping or escalation-capable
permissions (CreatePolicyVersion with setAsDefault)."""

from fnmatch import fnmatchcase

from iota_helpers import as_list, aws_rule_context, is_aws_service, parse_policy, policy_statements, principal

# Actions that give full control, or let the holder give itself more permissions.
ESCALATION_ACTIONS = (
    "*",
    "iam:*",
    "iam:attachuserpolicy",
    "iam:attachrolepolicy",
    "iam:attachgrouppolicy",
    "iam:putuserpolicy",
    "iam:putrolepolicy",
    "iam:putgrouppolicy",
    "iam:createpolicyversion",
    "iam:setdefaultpolicyversion",
    "iam:addusertogroup",
    "iam:updateassumerolepolicy",
    "iam:createaccesskey",
    "iam:createloginprofile",
    "iam:updateloginprofile",
    "iam:passrole",
)


def _policy(event):
    return parse_policy(event.deep_get("requestParameters", "policyDocument"))


def _risky_actions(document):
    """Escalation actions an Allow statement grants on Resource "*" (NotAction counts as all)."""
    found = set()
    for statement in policy_statements(document, effect="Allow"):
        if "*" not in as_list(statement.get("Resource")):
            continue
        if "NotAction" in statement:
            found.add("* (NotAction)")
            continue
        for action in as_list(statement.get("Action")):
            if not isinstance(action, str):
                continue
            pattern = action.lower()
            found.update(target for target in ESCALATION_ACTIONS if fnmatchcase(target, pattern))
    return sorted(found)


def _findings(event):
    return _risky_actions(_policy(event))


def rule(event):
    if event.get("eventSource") != "iam.amazonaws.com" or event.get("eventName") != "CreatePolicyVersion":
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False
    # A version that is not made the default grants nothing until someone switches to it.
    if event.deep_get("requestParameters", "setAsDefault") is not True:
        return False
    return bool(_findings(event))


def _policy_name(event):
    arn = event.deep_get("requestParameters", "policyArn", default="<unknown policy>")
    return arn.rsplit("/", 1)[-1] if isinstance(arn, str) else arn


def _full_admin(findings):
    return "*" in findings or "* (NotAction)" in findings


def title(event):
    findings = _findings(event)
    granted = "all actions" if _full_admin(findings) else ", ".join(findings)
    return f"{principal(event)} made a new default version of policy {_policy_name(event)} granting {granted} on all resources"


def severity(event):
    return "CRITICAL" if _full_admin(_findings(event)) else "DEFAULT"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('requestParameters', 'policyArn')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["policy_arn"] = event.deep_get("requestParameters", "policyArn")
    context["new_version"] = event.deep_get("responseElements", "policyVersion", "versionId")
    context["escalation_actions"] = _findings(event)
    context["policy_document"] = _policy(event)
    return context
