"""A console password set for another IAM user (CreateLoginProfile / UpdateLoginProfile): a
console backdoor or a takeover of that user."""

from iota_helpers import acts_on_other_user, aws_rule_context, is_aws_service, principal

EVENT_NAMES = {"CreateLoginProfile", "UpdateLoginProfile"}


def rule(event):
    if event.get("eventSource") != "iam.amazonaws.com" or event.get("eventName") not in EVENT_NAMES:
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False
    # Without userName the call acts on the caller itself.
    return acts_on_other_user(event)


def title(event):
    target = event.deep_get("requestParameters", "userName")
    verb = "created a console password" if event.get("eventName") == "CreateLoginProfile" else "changed the console password"
    return f"{principal(event)} {verb} for IAM user {target}"


def severity(event):
    # Resetting an existing user's password without forcing a change hands the console
    # session to whoever set it: a takeover, not onboarding.
    if event.get("eventName") == "UpdateLoginProfile" and event.deep_get("requestParameters", "passwordResetRequired") is not True:
        return "HIGH"
    return "DEFAULT"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.deep_get('requestParameters', 'userName')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["target_user"] = event.deep_get("requestParameters", "userName")
    context["password_reset_required"] = event.deep_get("requestParameters", "passwordResetRequired")
    return context
