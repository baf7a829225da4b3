"""One principal reading the values of many different Secrets Manager secrets in a short time."""

from iota_helpers import aws_rule_context, is_aws_service, principal, principal_arn_matches

# Roles or users expected to read many secrets (for example a secrets-sync job), matched
# against userIdentity.arn with fnmatch wildcards. Empty by default: add yours.
ALLOWED_PRINCIPAL_ARNS = []


def allowed_principal_arns():
    """The allow-list (a function so that tests can mock it)."""
    return ALLOWED_PRINCIPAL_ARNS


def _secret_ids(event):
    if event.get("eventName") == "BatchGetSecretValue":
        ids = event.deep_get("requestParameters", "secretIdList", default=[]) or []
        return [str(secret) for secret in ids]
    secret = event.deep_get("requestParameters", "secretId")
    return [str(secret)] if secret else []


def rule(event):
    if event.get("eventSource") != "secretsmanager.amazonaws.com":
        return False
    if event.get("eventName") not in ("GetSecretValue", "BatchGetSecretValue"):
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False
    return not principal_arn_matches(event, allowed_principal_arns())


def unique(event):
    # The threshold counts distinct secrets: re-reading one secret in a loop is not bulk access.
    return ",".join(sorted(_secret_ids(event))) or str(event.get("eventID"))


def title(event):
    return (
        f"{principal(event)} read the values of many Secrets Manager secrets in account "
        f"{event.get('recipientAccountId')}"
    )


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('userIdentity', 'arn')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["secret_ids"] = _secret_ids(event)
    context["access_key_id"] = event.deep_get("userIdentity", "accessKeyId")
    return context
