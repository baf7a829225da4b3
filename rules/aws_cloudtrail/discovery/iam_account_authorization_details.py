"""GetAccountAuthorizationDetails called: a full dump of the account's IAM users, roles and policies."""

from iota_helpers import aws_rule_context, is_aws_service, principal, principal_arn_matches

# Security tooling expected to take this snapshot (CSPM, access reviews), matched against
# userIdentity.arn with fnmatch wildcards. Empty by default: add yours.
ALLOWED_PRINCIPAL_ARNS = []


def allowed_principal_arns():
    """The allow-list (a function so that tests can mock it)."""
    return ALLOWED_PRINCIPAL_ARNS


def rule(event):
    if event.get("eventSource") != "iam.amazonaws.com" or event.get("eventName") != "GetAccountAuthorizationDetails":
        return False
    if is_aws_service(event):
        return False
    return not principal_arn_matches(event, allowed_principal_arns())


def severity(event):
    # A denied dump is an attempt worth recording, not urgent.
    return "INFO" if event.get("errorCode") else "DEFAULT"


def title(event):
    outcome = "tried to dump" if event.get("errorCode") else "dumped"
    return f"{principal(event)} {outcome} all IAM authorization details of account {event.get('recipientAccountId')}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('userIdentity', 'arn')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["filter"] = event.deep_get("requestParameters", "filter")
    context["access_key_id"] = event.deep_get("userIdentity", "accessKeyId")
    return context
