"""One principal running shell commands or opening sessions on many instances through SSM."""

from iota_helpers import aws_rule_context, is_aws_service, pattern_match_list, principal, principal_arn_matches

# Fleet-management documents that run on many instances by design (patching, inventory,
# agent updates). Anything else, including custom documents, counts.
ROUTINE_DOCUMENTS = [
    "AWS-RunPatchBaseline*",
    "AWS-ApplyPatchBaseline",
    "AWS-UpdateSSMAgent",
    "AWS-ConfigureAWSPackage",
    "AWS-GatherSoftwareInventory",
    "AWS-RefreshAssociation",
    "AWS-FindWindowsUpdates",
    "AmazonInspector2-*",
    "AmazonCloudWatch-ManageAgent",
]

# Automation that legitimately runs commands fleet-wide as an ordinary role (Ansible over
# SSM, deployment tools), matched on userIdentity.arn (fnmatch). Empty by default.
ALLOWED_PRINCIPAL_ARNS = []


def allowed_principal_arns():
    """The allow-list (a function so that tests can mock it)."""
    return ALLOWED_PRINCIPAL_ARNS


def _targets(event):
    params = event.get("requestParameters") or {}
    if event.get("eventName") == "StartSession":
        return [str(params.get("target"))] if params.get("target") else []
    ids = [str(i) for i in (params.get("instanceIds") or [])]
    if ids:
        return ids
    # Tag or resource-group targets: the whole selection counts as one value.
    targets = params.get("targets") or []
    return [f"{t.get('key')}={','.join(str(v) for v in (t.get('values') or []))}" for t in targets if hasattr(t, "get")]


def rule(event):
    if event.get("eventSource") != "ssm.amazonaws.com" or event.get("eventName") not in ("SendCommand", "StartSession"):
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False  # State Manager associations and Patch Manager run as the SSM service
    document = event.deep_get("requestParameters", "documentName", default="")
    if event.get("eventName") == "SendCommand" and pattern_match_list(document, ROUTINE_DOCUMENTS):
        return False
    return not principal_arn_matches(event, allowed_principal_arns())


def unique(event):
    return ",".join(sorted(_targets(event))) or str(event.get("eventID"))


def title(event):
    return f"{principal(event)} ran commands or sessions on many instances through SSM in {event.get('awsRegion')}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('userIdentity', 'arn')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["document"] = event.deep_get("requestParameters", "documentName")
    context["targets"] = _targets(event)
    context["command_id"] = event.deep_get("responseElements", "command", "commandId")
    context["session_id"] = event.deep_get("responseElements", "sessionId")
    return context
