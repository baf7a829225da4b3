# Your organisation's own rules live in this directory: Kustomize turns it into the
# iota-rules ConfigMap, mounted at /etc/iota/rules beside the bundled pack. This one is an
# example to adapt: the break-glass role's name is specific to each organisation.
BREAK_GLASS_ROLE_NAMES = {"BreakGlass", "break-glass"}


def _role_name(event):
    arn = event.deep_get("requestParameters", "roleArn", default="") or ""
    return arn.rsplit("/", 1)[-1]


def rule(event):
    return (
        event.get("eventName") == "AssumeRole"
        and event.get("errorCode") is None
        and _role_name(event) in BREAK_GLASS_ROLE_NAMES
    )


def title(event):
    who = event.deep_get("userIdentity", "arn", default="<unknown>")
    return f"Break-glass role {_role_name(event)} assumed by {who}"


def dedup(event):
    return event.deep_get("userIdentity", "arn", default="<unknown>")


def alert_context(event):
    return {
        "role_arn": event.deep_get("requestParameters", "roleArn"),
        "source_ip": event.get("sourceIPAddress"),
        "account": event.get("recipientAccountId"),
    }
