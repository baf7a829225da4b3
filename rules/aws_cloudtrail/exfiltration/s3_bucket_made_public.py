"""An S3 bucket opened to everyone: a bucket policy allowing Principal "*" without conditions, or a public ACL."""

from iota_helpers import as_list, aws_rule_context, policy_statements, principal

PUBLIC_GROUPS = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)
PUBLIC_CANNED_ACLS = {"public-read", "public-read-write", "authenticated-read"}
GRANT_HEADERS = (
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
)


def _is_everyone(principal_value):
    if principal_value == "*":
        return True
    if hasattr(principal_value, "get"):
        return "*" in [str(p) for p in as_list(principal_value.get("AWS"))]
    return False


def _public_statements(event):
    """Allow statements of the new policy that grant everyone access without a condition."""
    found = []
    for statement in policy_statements(event.deep_get("requestParameters", "bucketPolicy"), effect="Allow"):
        if statement.get("Condition"):
            continue  # restricted to a VPC endpoint, an organization, source IPs, ...
        if _is_everyone(statement.get("Principal")) or statement.get("NotPrincipal"):
            found.append(statement.get("Sid") or str(statement.get("Action")))
    return found


def _public_acl(event):
    """The public grants of a PutBucketAcl call, as readable strings."""
    params = event.get("requestParameters") or {}
    found = []
    for canned in as_list(params.get("x-amz-acl")):
        if str(canned) in PUBLIC_CANNED_ACLS:
            found.append(f"canned ACL {canned}")
    for header in GRANT_HEADERS:
        for value in as_list(params.get(header)):
            if any(group in str(value) for group in PUBLIC_GROUPS):
                found.append(f"{header}: {value}")
    grants = event.deep_get("requestParameters", "AccessControlPolicy", "AccessControlList", "Grant")
    for grant in as_list(grants):
        if not hasattr(grant, "get"):
            continue
        uri = str((grant.get("Grantee") or {}).get("URI", ""))
        if uri in PUBLIC_GROUPS:
            found.append(f"{uri.rsplit('/', 1)[-1]}: {grant.get('Permission')}")
    return found


def _findings(event):
    if event.get("eventName") == "PutBucketPolicy":
        return _public_statements(event)
    return _public_acl(event)


def rule(event):
    if event.get("eventSource") != "s3.amazonaws.com":
        return False
    if event.get("eventName") not in ("PutBucketPolicy", "PutBucketAcl"):
        return False
    if event.get("errorCode"):
        return False
    return bool(_findings(event))


def _bucket(event):
    return event.deep_get("requestParameters", "bucketName", default="<unknown bucket>")


def title(event):
    how = "a bucket policy" if event.get("eventName") == "PutBucketPolicy" else "an ACL"
    return f"{principal(event)} made S3 bucket {_bucket(event)} public with {how}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{_bucket(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["bucket"] = _bucket(event)
    context["public_grants"] = _findings(event)
    return context
