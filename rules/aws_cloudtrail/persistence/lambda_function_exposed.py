"""A Lambda function opened to anyone or to another AWS account: a resource policy statement for
"*" or a foreign account, or a function URL without authentication."""

from iota_helpers import aws_rule_context, is_aws_service, is_external_account, principal, principal_account

ADD_PERMISSION = {"AddPermission20150331v2", "AddPermission20150331"}
FUNCTION_URL = {"CreateFunctionUrlConfig20211031", "UpdateFunctionUrlConfig20211031"}

# Accounts your functions are expected to be shared with.
TRUSTED_ACCOUNTS = set()


def _exposure(event):
    params = event.get("requestParameters") or {}
    if event.get("eventName") in FUNCTION_URL:
        return "everyone through a function URL without authentication (AuthType NONE)" if params.get("authType") == "NONE" else None
    grantee = params.get("principal")
    if grantee == "*":
        # A source ARN, source account or organization id limits who can use a "*" grant.
        if params.get("sourceArn") or params.get("sourceAccount") or params.get("principalOrgID"):
            return None
        return "anyone (principal *)"
    account = principal_account(grantee)
    if is_external_account(account, event, TRUSTED_ACCOUNTS):
        return f"account {account}"
    return None


def _function(event):
    name = event.deep_get("requestParameters", "functionName")
    if isinstance(name, str) and ":function:" in name:
        return name.split(":function:", 1)[1].split(":", 1)[0]
    return name or "<unknown function>"


def rule(event):
    if event.get("eventSource") != "lambda.amazonaws.com" or event.get("eventName") not in ADD_PERMISSION | FUNCTION_URL:
        return False
    if event.get("errorCode") or is_aws_service(event):
        return False
    return _exposure(event) is not None


def title(event):
    action = event.deep_get("requestParameters", "action")
    how = f" for {action}" if action else ""
    return f"{principal(event)} exposed Lambda function {_function(event)} to {_exposure(event)}{how}"


def severity(event):
    # Function URLs without auth are also used for public webhooks on purpose.
    return "MEDIUM" if event.get("eventName") in FUNCTION_URL else "DEFAULT"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.get('awsRegion')}:{_function(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["function"] = _function(event)
    context["exposure"] = _exposure(event)
    context["statement"] = event.deep_get("responseElements", "statement")
    context["function_url"] = event.deep_get("responseElements", "functionUrl")
    return context
