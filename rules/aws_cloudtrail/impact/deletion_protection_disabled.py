"""Deletion or termination protection turned off on a database, instance, load balancer, table or stack."""

from iota_helpers import aws_rule_context, is_aws_service, is_false, is_iac_user_agent, principal


def _resource_and_setting(event):
    """(resource, setting) when this call turns a protection off, else None."""
    params = event.get("requestParameters") or {}
    source, name = event.get("eventSource"), event.get("eventName")
    if source == "rds.amazonaws.com" and name in ("ModifyDBInstance", "ModifyDBCluster"):
        if is_false(params.get("deletionProtection")):
            resource = params.get("dBInstanceIdentifier") or params.get("dBClusterIdentifier")
            return resource, "deletionProtection"
    elif source == "ec2.amazonaws.com" and name == "ModifyInstanceAttribute":
        value = params.get("disableApiTermination")
        if hasattr(value, "get"):
            value = value.get("value")
        elif params.get("attribute") == "disableApiTermination":
            value = params.get("value")
        if is_false(value):
            return params.get("instanceId"), "disableApiTermination"
    elif source == "elasticloadbalancing.amazonaws.com" and name == "ModifyLoadBalancerAttributes":
        for attribute in params.get("attributes") or []:
            if hasattr(attribute, "get") and attribute.get("key") == "deletion_protection.enabled":
                if is_false(attribute.get("value")):
                    return params.get("loadBalancerArn"), "deletion_protection.enabled"
    elif source == "dynamodb.amazonaws.com" and name == "UpdateTable":
        if is_false(params.get("deletionProtectionEnabled")):
            return params.get("tableName"), "deletionProtectionEnabled"
    elif source == "cloudformation.amazonaws.com" and name == "UpdateTerminationProtection":
        if is_false(params.get("enableTerminationProtection")):
            return params.get("stackName"), "enableTerminationProtection"
    return None


def rule(event):
    if event.get("errorCode") or is_aws_service(event):
        return False
    if _resource_and_setting(event) is None:
        return False
    # Infrastructure-as-code tools turn protection off as part of reviewed changes and of
    # "destroy" runs (Terraform disables EC2 termination protection before terminating).
    return not is_iac_user_agent(event)


def title(event):
    resource, setting = _resource_and_setting(event)
    service = str(event.get("eventSource")).split(".")[0]
    return f"{principal(event)} turned off {setting} on {service} resource {resource}"


def dedup(event):
    resource, _ = _resource_and_setting(event)
    return f"{event.get('recipientAccountId')}:{resource}"


def alert_context(event):
    resource, setting = _resource_and_setting(event)
    context = aws_rule_context(event)
    context["resource"] = resource
    context["setting"] = setting
    return context
