"""EC2 Windows administrator password data retrieved (plain-Python rule: no YAML needed).

GetPasswordData returns the encrypted local administrator password of a Windows instance;
outside of an initial set-up it is a credential-access technique.
"""


def rule(event):
    return event.get("eventSource") == "ec2.amazonaws.com" and event.get("eventName") == "GetPasswordData"


def title(event):
    instance = event.deep_get("requestParameters", "instanceId", default="<unknown>")
    actor = event.deep_get("userIdentity", "arn", default="<unknown principal>")
    return f"{actor} retrieved the password data of EC2 instance {instance}"


def severity(event):
    return "LOW" if event.get("errorCode") else "MEDIUM"


def dedup(event):
    return str(event.deep_get("userIdentity", "arn"))
