"""A Lambda function's code, or the configuration that decides what code runs (layers, handler,
runtime, execution role), changed by a person rather than by a deployment service."""

from iota_helpers import aws_rule_context, is_aws_service, principal

CODE = {"UpdateFunctionCode20150331v2", "UpdateFunctionCode20150331"}
CONFIGURATION = {"UpdateFunctionConfiguration20150331v2", "UpdateFunctionConfiguration20150331"}

# Configuration keys that change what runs, or with which permissions.
EXECUTION_KEYS = ("layers", "handler", "runtime", "role", "imageConfig")

# userAgent fragments of deployment services that call Lambda with a role's credentials
# rather than as an AWS service.
AUTOMATION_AGENTS = (
    "cloudformation.amazonaws.com",
    "codepipeline.amazonaws.com",
    "codedeploy.amazonaws.com",
    "codebuild.amazonaws.com",
)
# Role session names used by deployment services.
AUTOMATION_SESSIONS = ("AWSCloudFormation", "AWSCodeBuild-", "AWSCodePipeline", "CodeDeploy")


def _is_automation(event):
    if is_aws_service(event):
        return True
    agent = str(event.get("userAgent") or "")
    if any(fragment in agent for fragment in AUTOMATION_AGENTS):
        return True
    if event.deep_get("userIdentity", "type") == "AssumedRole":
        session = str(event.deep_get("userIdentity", "principalId") or "").split(":", 1)[-1]
        return session.startswith(AUTOMATION_SESSIONS)
    return False


def _changed_keys(event):
    params = event.get("requestParameters") or {}
    return [key for key in EXECUTION_KEYS if params.get(key) is not None]


def _function(event):
    name = event.deep_get("requestParameters", "functionName") or event.deep_get("responseElements", "functionName")
    if isinstance(name, str) and ":function:" in name:
        return name.split(":function:", 1)[1].split(":", 1)[0]
    return name or "<unknown function>"


def rule(event):
    if event.get("eventSource") != "lambda.amazonaws.com" or event.get("eventName") not in CODE | CONFIGURATION:
        return False
    if event.get("errorCode") or event.deep_get("requestParameters", "dryRun") is True:
        return False
    if _is_automation(event):
        return False
    return event.get("eventName") in CODE or bool(_changed_keys(event))


def title(event):
    if event.get("eventName") in CODE:
        return f"{principal(event)} replaced the code of Lambda function {_function(event)}"
    return f"{principal(event)} changed the {', '.join(_changed_keys(event))} of Lambda function {_function(event)}"


def dedup(event):
    return f"{event.get('recipientAccountId')}:{event.get('awsRegion')}:{_function(event)}"


def alert_context(event):
    context = aws_rule_context(event)
    context["function"] = _function(event)
    context["function_arn"] = event.deep_get("responseElements", "functionArn")
    context["code_sha256"] = event.deep_get("responseElements", "codeSha256")
    context["execution_role"] = event.deep_get("responseElements", "role")
    context["changed"] = _changed_keys(event) if event.get("eventName") in CONFIGURATION else ["code"]
    return context
