"""One principal reading many SSM parameters with decryption (SecureString values) in a short time."""

from iota_helpers import aws_rule_context, is_aws_service, is_true, principal, principal_arn_matches

EVENT_NAMES = {"GetParameter", "GetParameters", "GetParametersByPath", "GetParameterHistory"}

# Roles or users expected to read many decrypted parameters (for example a config loader
# that runs as one long-lived session), matched against userIdentity.arn with fnmatch
# wildcards. Empty by default: add yours.
ALLOWED_PRINCIPAL_ARNS = []


def allowed_principal_arns():
    """The allow-list (a function so that tests can mock it)."""
    return ALLOWED_PRINCIPAL_ARNS


def _names(event):
    params = event.get("requestParameters") or {}
    if event.get("eventName") == "GetParameters":
        return [str(name) for name in (params.get("names") or [])]
    if event.get("eventName") == "GetParametersByPath":
        path = params.get("path")
        return [f"{path} (path)"] if path else []
    name = params.get("name")
    return [str(name)] if name else []


def rule(event):
    if event.get("eventSource") != "ssm.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False
    if not is_true(event.deep_get("requestParameters", "withDecryption")):
        return False
    return not principal_arn_matches(event, allowed_principal_arns())


def unique(event):
    # Distinct parameters (or parameter batches / paths): polling one parameter is not bulk access.
    return ",".join(sorted(_names(event))) or str(event.get("eventID"))


def title(event):
    return (
        f"{principal(event)} read many SSM parameters with decryption in account "
        f"{event.get('recipientAccountId')}"
    )


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('userIdentity', 'arn')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["parameters"] = _names(event)
    context["access_key_id"] = event.deep_get("userIdentity", "accessKeyId")
    return context
