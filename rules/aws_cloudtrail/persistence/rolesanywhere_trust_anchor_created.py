"""An IAM Roles Anywhere trust anchor created or its certificate source replaced: whoever holds
a certificate from that CA can get AWS credentials from outside AWS."""

from iota_helpers import aws_rule_context, is_aws_service, principal


def rule(event):
    if event.get("eventSource") != "rolesanywhere.amazonaws.com":
        return False
    name = event.get("eventName")
    if name == "UpdateTrustAnchor":
        # Renaming is harmless; a new source (CA) is what grants access.
        if event.deep_get("requestParameters", "source") is None:
            return False
    elif name != "CreateTrustAnchor":
        return False
    return not event.get("errorCode") and not is_aws_service(event)


def _anchor(event):
    return (
        event.deep_get("requestParameters", "name")
        or event.deep_get("responseElements", "trustAnchor", "name")
        or event.deep_get("requestParameters", "trustAnchorId")
        or "<unknown>"
    )


def title(event):
    verb = "created" if event.get("eventName") == "CreateTrustAnchor" else "replaced the CA of"
    source = event.deep_get("requestParameters", "source", "sourceType", default="unknown source")
    return f"{principal(event)} {verb} IAM Roles Anywhere trust anchor {_anchor(event)} ({source})"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.get('awsRegion')}:{_anchor(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    # The certificate bundle is long and adds nothing to triage: keep the identifiers.
    context.pop("requestParameters", None)
    context["trust_anchor"] = _anchor(event)
    context["trust_anchor_arn"] = event.deep_get("responseElements", "trustAnchor", "trustAnchorArn")
    context["source_type"] = event.deep_get("requestParameters", "source", "sourceType")
    context["acm_pca_arn"] = event.deep_get("requestParameters", "source", "sourceData", "acmPcaArn")
    context["enabled"] = event.deep_get("requestParameters", "enabled")
    return context
