"""The Terraform module (deploy/terraform) and its example: every file parses (python-hcl2),
every IAM policy is an aws_iam_policy_document whose statements name their actions and
resources (no `*` action, no `*` resource, and a wildcard inside a resource ARN only where
AWS offers no other way, each listed in WILDCARD_RESOURCES with its reason), the role's
permissions are exactly those iota uses, the optional ones exist only when their feature is
on, the role trusts one service account, and every variable and output is documented.
"""

import re
import shutil
import subprocess
import unittest
from pathlib import Path

import hcl2

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "deploy" / "terraform"

# The resource ARNs with a wildcard, each allowed for a reason AWS imposes.
WILDCARD_RESOURCES = {
    # S3 object ARNs name objects by key: a prefix followed by `*` is the only way to grant
    # s3:GetObject on the log files the trail writes after the policy. The prefix and the
    # bucket are variables that refuse wildcards themselves.
    "${local.bucket_arn}/${var.trail_prefix}*": "s3:GetObject on the trail's log files",
    # The same for the data lake's files, written and deleted below the lake prefix.
    "${local.lake_bucket_arn}/${var.lake_prefix}*": "s3:PutObject and s3:DeleteObject on the lake's files",
}

# Every permission of the role, by statement id, and what turns it on (None: always).
ROLE_STATEMENTS = {
    "ListTrailBucket": ({"s3:ListBucket", "s3:GetBucketLocation"}, None),
    "GetTrailObjects": ({"s3:GetObject"}, None),
    "DecryptTrailObjects": ({"kms:Decrypt"}, "var.trail_kms_key_arn"),
    "ListLakeBucket": ({"s3:ListBucket"}, "local.lake_enabled"),
    "WriteLakeObjects": ({"s3:PutObject", "s3:DeleteObject"}, "local.lake_enabled"),
    "EncryptLakeObjects": ({"kms:GenerateDataKey"}, "var.lake_kms_key_arn"),
    "ConsumeQueue": (
        {
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueAttributes",
        },
        "local.queue_enabled",
    ),
    "DecryptQueueMessages": ({"kms:Decrypt"}, "local.queue_kms_enabled"),
    "PublishAlerts": ({"sns:Publish"}, "local.alerts_enabled"),
    "EncryptAlerts": ({"kms:GenerateDataKey", "kms:Decrypt"}, "var.alerts_topic_kms_key_arn"),
    "AssumeReaderRoles": ({"sts:AssumeRole"}, "var.assume_role_arns"),
}


def as_list(value):
    """A list attribute, or an expression that yields one (`var.assume_role_arns`)."""
    return value if isinstance(value, list) else [value]


def unquote(value):
    """python-hcl2 keeps the quotes of string literals: `"s3:GetObject"`."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def load(path):
    with open(path) as f:
        return hcl2.load(f)


def blocks(parsed, kind):
    """The labelled blocks of a kind (`data`, `resource`): (type, name, body)."""
    for entry in parsed.get(kind, []):
        for type_, named in entry.items():
            for name, body in named.items():
                yield unquote(type_), unquote(name), body


def module_files():
    return sorted(MODULE.glob("*.tf"))


def parse_module():
    parsed = {}
    for path in module_files():
        for kind, entries in load(path).items():
            parsed.setdefault(kind, []).extend(entries)
    return parsed


def statements(document):
    """A policy document's statements, static and dynamic (their `content`)."""
    found = list(document.get("statement", []))
    for dynamic in document.get("dynamic", []):
        for label, body in dynamic.items():
            if unquote(label) == "statement":
                found.extend(body["content"])
    return found


class ModuleFiles(unittest.TestCase):
    def test_every_file_parses(self):
        files = (
            module_files()
            + sorted((MODULE / "examples").glob("*/*.tf"))
            + sorted((MODULE / "tests").glob("*.tftest.hcl"))
        )
        self.assertGreaterEqual(len(files), 8)
        for path in files:
            with self.subTest(file=str(path.relative_to(ROOT))):
                load(path)

    def test_terraform_fmt_is_clean(self):
        terraform = shutil.which("terraform")
        if terraform is None:
            self.skipTest("terraform not installed; the format check needs it")
        result = subprocess.run(
            [terraform, "fmt", "-check", "-recursive", "-no-color", str(MODULE)],
            capture_output=True,
            text=True,
            check=False,
        )
        self.assertEqual(result.returncode, 0, f"terraform fmt would change:\n{result.stdout}")


class Policies(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.parsed = parse_module()
        cls.documents = {
            name: body
            for type_, name, body in blocks(cls.parsed, "data")
            if type_ == "aws_iam_policy_document"
        }
        cls.variables = variables(cls.parsed)

    def test_every_policy_is_a_checked_policy_document(self):
        attributes = {
            "aws_iam_role": "assume_role_policy",
            "aws_iam_role_policy": "policy",
            "aws_sqs_queue_policy": "policy",
        }
        for type_, name, body in blocks(self.parsed, "resource"):
            for attribute in ("policy", "assume_role_policy", "inline_policy"):
                if attribute in body:
                    self.assertEqual(attributes.get(type_), attribute, f"{type_}.{name}")
                    self.assertRegex(
                        body[attribute],
                        r"^\$\{data\.aws_iam_policy_document\.\w+(\[0\])?\.json\}$",
                        f"{type_}.{name}.{attribute}",
                    )
            self.assertNotIn(type_, {"aws_iam_policy", "aws_iam_role_policy_attachment"})

    def test_no_wildcard_actions_or_resources(self):
        wildcards_used = set()
        for name, document in self.documents.items():
            for statement in statements(document):
                sid = unquote(statement.get("sid", "?"))
                with self.subTest(document=name, sid=sid):
                    self.assertEqual(unquote(statement.get("effect", '"Allow"')), "Allow")
                    for forbidden in ("not_actions", "not_resources", "not_principals"):
                        self.assertNotIn(forbidden, statement)
                    for action in as_list(statement["actions"]):
                        self.assertNotIn("*", unquote(action), "a wildcard action")
                    for resource in as_list(statement.get("resources", [])):
                        resource = unquote(resource)
                        self.assertNotEqual(resource, "*")
                        if "*" in resource:
                            self.assertIn(resource, WILDCARD_RESOURCES, "an unlisted wildcard")
                            wildcards_used.add(resource)
                        for var in re.findall(r"var\.(\w+)", resource):
                            self.assertIn(
                                "*",
                                validation_of(self.variables[var]),
                                f"var.{var} must refuse wildcards",
                            )
                    for principal in statement.get("principals", []):
                        for identifier in principal["identifiers"]:
                            self.assertNotIn("*", unquote(identifier))
        self.assertEqual(wildcards_used, set(WILDCARD_RESOURCES), "a stale exception")

    def test_the_role_has_exactly_the_permissions_iota_uses(self):
        combined = self.documents["iota"]["source_policy_documents"]
        found = {}
        for name, document in self.documents.items():
            if name in ("iota", "trust", "queue"):
                continue
            self.assertIn(f"data.aws_iam_policy_document.{name}", combined)
            count = document.get("count")
            for statement in statements(document):
                found[unquote(statement["sid"])] = (
                    {unquote(a) for a in statement["actions"]},
                    count,
                )
        self.assertEqual(set(found), set(ROLE_STATEMENTS))
        for sid, (actions, switch) in ROLE_STATEMENTS.items():
            with self.subTest(sid=sid):
                self.assertEqual(found[sid][0], actions)
                if switch is None:
                    self.assertIsNone(found[sid][1], "an unconditional permission has no count")
                else:
                    self.assertIn(switch, found[sid][1] or "", "only when its feature is on")

    def test_sns_publish_only_when_a_topic_is_set(self):
        locals_ = {k: v for entry in self.parsed["locals"] for k, v in entry.items()}
        self.assertEqual(
            locals_["alerts_enabled"], "${var.create_alerts_topic || var.alerts_topic_arn != null}"
        )
        self.assertIsNone(unquote_default(self.variables["alerts_topic_arn"]))
        self.assertEqual(self.variables["create_alerts_topic"]["default"], False)

    def test_the_role_trusts_one_service_account_of_the_cluster(self):
        (statement,) = statements(self.documents["trust"])
        actions = [unquote(a) for a in statement["actions"]]
        self.assertEqual(actions, ["sts:AssumeRoleWithWebIdentity"])
        (principal,) = statement["principals"]
        self.assertEqual(unquote(principal["type"]), "Federated")
        self.assertEqual(principal["identifiers"], ["${var.oidc_provider_arn}"])
        conditions = {unquote(c["variable"]): c for c in statement["condition"]}
        sub = conditions["${local.oidc_issuer}:sub"]
        self.assertEqual(unquote(sub["test"]), "StringEquals")
        self.assertEqual(
            [unquote(v) for v in sub["values"]],
            ["system:serviceaccount:${var.namespace}:${var.service_account}"],
        )
        aud = conditions["${local.oidc_issuer}:aud"]
        self.assertEqual(unquote(aud["test"]), "StringEquals")
        self.assertEqual([unquote(v) for v in aud["values"]], ["sts.amazonaws.com"])

    def test_the_queue_accepts_only_the_trail_bucket_and_its_topic(self):
        for statement in statements(self.documents["queue"]):
            with self.subTest(sid=unquote(statement["sid"])):
                self.assertEqual([unquote(a) for a in statement["actions"]], ["sqs:SendMessage"])
                (principal,) = statement["principals"]
                self.assertEqual(unquote(principal["type"]), "Service")
                conditions = {unquote(c["variable"]): c for c in statement["condition"]}
                self.assertEqual(unquote(conditions["aws:SourceArn"]["test"]), "ArnEquals")


class Documentation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.parsed = parse_module()
        cls.readme = (MODULE / "README.md").read_text()

    def test_every_variable_is_described_typed_and_in_the_readme(self):
        for name, body in variables(self.parsed).items():
            with self.subTest(variable=name):
                self.assertTrue(unquote(body.get("description", "")), "no description")
                self.assertIn("type", body)
                self.assertIn(f"`{name}`", self.readme)

    def test_every_output_is_described_and_in_the_readme(self):
        for entry in self.parsed["output"]:
            for name, body in entry.items():
                name = unquote(name)
                with self.subTest(output=name):
                    self.assertTrue(unquote(body.get("description", "")), "no description")
                    self.assertIn(f"`{name}`", self.readme)

    def test_the_example_passes_only_variables_the_module_has(self):
        names = set(variables(self.parsed))
        for path in sorted((MODULE / "examples").glob("*/main.tf")):
            for entry in load(path)["module"]:
                for _, body in entry.items():
                    self.assertEqual(unquote(body["source"]), "../..")
                    arguments = {k for k in body if k not in ("source", "__is_block__")}
                    self.assertLessEqual(arguments, names, str(path))
                    self.assertIn("oidc_provider_arn", arguments)


def variables(parsed):
    return {unquote(k): v for entry in parsed["variable"] for k, v in entry.items()}


def validation_of(variable):
    return " ".join(v["condition"] for v in variable.get("validation", []))


def unquote_default(variable):
    return unquote(variable.get("default"))


if __name__ == "__main__":
    unittest.main()
