"""An AMI (machine image) shared publicly or with another AWS account (launchPermission added)."""

from iota_helpers import aws_rule_context, ec2_permission_grants, principal

# Accounts you share images with on purpose. Shares with an organization or OU ARN stay
# inside your organization and are not reported.
TRUSTED_ACCOUNT_IDS = set()


def trusted_account_ids():
    """The trusted accounts (a function so that tests can mock it)."""
    return TRUSTED_ACCOUNT_IDS


def _grants(event):
    """(public, [account ids]) added by this call."""
    return ec2_permission_grants(event, "launchPermission", trusted_account_ids())


def rule(event):
    if event.get("eventSource") != "ec2.amazonaws.com" or event.get("eventName") != "ModifyImageAttribute":
        return False
    if event.get("errorCode"):
        return False
    public, accounts = _grants(event)
    return public or bool(accounts)


def severity(event):
    public, _ = _grants(event)
    return "DEFAULT" if public else "MEDIUM"


def title(event):
    image = event.deep_get("requestParameters", "imageId", default="<unknown image>")
    public, accounts = _grants(event)
    target = "publicly" if public else "with account(s) " + ", ".join(accounts)
    return f"{principal(event)} shared AMI {image} {target}"


def dedup(event):
    image = event.deep_get("requestParameters", "imageId")
    return f"{event.get('recipientAccountId')}:{event.get('awsRegion')}:{image}"


def alert_context(event):
    public, accounts = _grants(event)
    context = aws_rule_context(event)
    context["image_id"] = event.deep_get("requestParameters", "imageId")
    context["public"] = public
    context["shared_with_accounts"] = accounts
    return context
