"""An SSH public key imported: an EC2 key pair (ImportKeyPair) or an IAM user's SSH key for
CodeCommit (UploadSSHPublicKey)."""

from iota_helpers import acts_on_other_user, aws_rule_context, is_aws_service, principal

KEYS = {
    ("ec2.amazonaws.com", "ImportKeyPair"),
    ("iam.amazonaws.com", "UploadSSHPublicKey"),
}


def rule(event):
    if (event.get("eventSource"), event.get("eventName")) not in KEYS:
        return False
    return not event.get("errorCode") and not is_aws_service(event)


def _key(event):
    if event.get("eventName") == "ImportKeyPair":
        return event.deep_get("requestParameters", "keyName", default="<unknown>")
    return event.deep_get("responseElements", "sSHPublicKey", "sSHPublicKeyId", default="<unknown>")


def _for_other_user(event):
    return event.get("eventName") == "UploadSSHPublicKey" and acts_on_other_user(event)


def title(event):
    if event.get("eventName") == "ImportKeyPair":
        return f"{principal(event)} imported EC2 key pair {_key(event)} in {event.get('awsRegion')}"
    target = event.deep_get("requestParameters", "userName", default="<unknown>")
    return f"{principal(event)} uploaded SSH public key {_key(event)} for IAM user {target}"


def severity(event):
    # A key uploaded for someone else is how an attacker reaches that user's repositories.
    return "HIGH" if _for_other_user(event) else "DEFAULT"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{principal(event)}:{event.get('eventName')}"


def alert_context(event):
    context = aws_rule_context(event)
    context["key"] = _key(event)
    context["key_fingerprint"] = event.deep_get("responseElements", "keyFingerprint") or event.deep_get(
        "responseElements", "sSHPublicKey", "fingerprint"
    )
    context["key_pair_id"] = event.deep_get("responseElements", "keyPairId")
    context["target_user"] = event.deep_get("requestParameters", "userName")
    return context
