"""Tests of the rule-author helpers in iota_helpers."""

import ipaddress
import json
import random
import unittest
from urllib.parse import quote

from iota_helpers import (
    IAC_USER_AGENTS,
    acts_on_other_user,
    arn_account,
    as_list,
    aws_rule_context,
    deep_get,
    deep_walk,
    ec2_items,
    ec2_permission_grants,
    is_aws_service,
    is_external_account,
    is_false,
    is_iac_user_agent,
    is_ip_in_network,
    is_true,
    name_from_arn,
    parse_policy,
    pattern_match,
    pattern_match_list,
    plain,
    policy_statements,
    principal,
    principal_account,
    principal_arn_matches,
    principal_key,
    sign_in_user,
)
from iota_runtime.event import PantherEvent


def event(identity, **fields):
    raw = {
        "eventName": "CreateUser",
        "eventSource": "iam.amazonaws.com",
        "eventID": "e-1",
        "eventTime": "2024-03-01T12:00:00Z",
        "awsRegion": "us-east-1",
        "recipientAccountId": "111122223333",
        "sourceIPAddress": "198.51.100.4",
        "userAgent": "aws-cli/2.15",
        "userIdentity": identity,
        "requestParameters": {"userName": "backdoor", "tags": [{"key": "k", "value": "v"}]},
    }
    raw.update(fields)
    return PantherEvent(raw)


ROOT = {"type": "Root", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"}
IAM_USER = {"type": "IAMUser", "userName": "alice", "arn": "arn:aws:iam::111122223333:user/alice"}
ROLE = {
    "type": "AssumedRole",
    "arn": "arn:aws:sts::111122223333:assumed-role/Admin/bob@example.com",
    "sessionContext": {"sessionIssuer": {"userName": "Admin"}},
}


class KeyHelpers(unittest.TestCase):
    def test_deep_get_on_events_and_dicts(self):
        self.assertEqual(deep_get(event(ROLE), "USERIDENTITY", "type"), "AssumedRole")
        self.assertEqual(deep_get({"a": {"b": 0}}, "a", "b"), 0)
        self.assertEqual(deep_get({"a": {"b": None}}, "a", "b", default="d"), "d")
        self.assertEqual(deep_get({"a": 1}, "a", "b", default="d"), "d")

    def test_deep_walk_on_events_and_dicts(self):
        self.assertEqual(deep_walk(event(ROLE), "requestParameters", "tags", "KEY"), "k")
        self.assertEqual(deep_walk({"a": [{"b": 1}, {"b": 2}]}, "a", "b", return_val="last"), 2)
        self.assertEqual(deep_walk({"a": [{"c": 1}]}, "a", "b", default="d"), "d")


class Networks(unittest.TestCase):
    def test_membership(self):
        self.assertTrue(is_ip_in_network("10.1.2.3", ["192.168.0.0/16", "10.0.0.0/8"]))
        self.assertTrue(is_ip_in_network("10.1.2.3", "10.1.0.0/16"))
        self.assertFalse(is_ip_in_network("11.1.2.3", ["10.0.0.0/8"]))
        self.assertTrue(is_ip_in_network("2001:db8::1", ["10.0.0.0/8", "2001:db8::/32"]))
        self.assertFalse(is_ip_in_network("2001:db8::1", ["0.0.0.0/0"]))

    def test_agrees_with_network_membership_on_overlapping_and_adjacent_networks(self):
        # Networks are merged into ranges for a bisection: nested, overlapping, adjacent and
        # unsorted networks of both versions must give what `address in network` gives.
        rng = random.Random(7)
        networks = ["10.0.0.0/8", "10.1.0.0/16", "10.255.255.0/24", "11.0.0.0/8", "12.0.0.0/9",
                    "12.128.0.0/9", "192.168.1.7/32", "3.0.0.0/8", "2001:db8::/32", "2001:db8:1::/48",
                    "fc00::/7", "::/128"]
        parsed = [ipaddress.ip_network(n) for n in networks]
        addresses = ["0.0.0.0", "255.255.255.255", "9.255.255.255", "10.0.0.0", "13.0.0.0",
                     "192.168.1.6", "192.168.1.7", "192.168.1.8", "::", "::1", "2001:db9::"]
        addresses += [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(2000)]
        addresses += [str(ipaddress.IPv4Address(rng.randrange(9 << 24, 14 << 24))) for _ in range(2000)]
        addresses += [str(ipaddress.IPv6Address((0x2001_0db8 << 96) + rng.getrandbits(98))) for _ in range(500)]
        for address in addresses:
            expected = any(ipaddress.ip_address(address) in n for n in parsed)
            self.assertEqual(is_ip_in_network(address, networks), expected, address)

    def test_bad_input(self):
        self.assertFalse(is_ip_in_network("ec2.amazonaws.com", ["10.0.0.0/8"]))
        self.assertFalse(is_ip_in_network(None, ["10.0.0.0/8"]))
        self.assertFalse(is_ip_in_network("10.0.0.1", []))
        with self.assertRaises(ValueError):
            is_ip_in_network("10.0.0.1", ["not-a-cidr"])


class Principal(unittest.TestCase):
    def test_kinds(self):
        self.assertEqual(principal(event(ROOT)), "root")
        self.assertEqual(principal(event(IAM_USER)), "alice")
        self.assertEqual(principal(event(ROLE)), "Admin/bob@example.com")
        self.assertEqual(
            principal(event({"type": "AssumedRole", "sessionContext": {"sessionIssuer": {"userName": "Ops"}}})),
            "Ops",
        )
        self.assertEqual(
            principal(event({"type": "FederatedUser", "arn": "arn:aws:sts::1:federated-user/carol"})),
            "carol",
        )
        self.assertEqual(
            principal(event({"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"})),
            "cloudtrail.amazonaws.com",
        )
        self.assertEqual(
            principal(event({"type": "AWSAccount", "accountId": "444455556666"})), "account:444455556666"
        )
        self.assertEqual(principal(event({"type": "Unknown", "principalId": "AIDA123"})), "AIDA123")
        self.assertEqual(principal(PantherEvent({"eventName": "x"})), "unknown")

    def test_plain_dict(self):
        self.assertEqual(principal({"userIdentity": IAM_USER}), "alice")


class ServiceCalls(unittest.TestCase):
    def test_is_aws_service(self):
        self.assertTrue(is_aws_service(event({"type": "AWSService", "invokedBy": "ec2.amazonaws.com"})))
        self.assertTrue(is_aws_service(event(ROLE, sourceIPAddress="autoscaling.amazonaws.com")))
        self.assertTrue(is_aws_service(event(dict(ROLE, invokedBy="AWS Internal"))))
        self.assertFalse(is_aws_service(event(ROLE)))
        self.assertFalse(is_aws_service(event(IAM_USER, sourceIPAddress="amazonaws.com.evil.example")))


class RuleContext(unittest.TestCase):
    def test_fields_and_json_ready(self):
        context = aws_rule_context(event(ROLE, errorCode="AccessDenied"))
        self.assertEqual(context["eventName"], "CreateUser")
        self.assertEqual(context["eventSource"], "iam.amazonaws.com")
        self.assertEqual(context["awsRegion"], "us-east-1")
        self.assertEqual(context["recipientAccountId"], "111122223333")
        self.assertEqual(context["sourceIPAddress"], "198.51.100.4")
        self.assertEqual(context["userAgent"], "aws-cli/2.15")
        self.assertEqual(context["principal"], "Admin/bob@example.com")
        self.assertEqual(context["userIdentity"]["type"], "AssumedRole")
        self.assertEqual(context["userIdentity"]["arn"], ROLE["arn"])
        self.assertIsNone(context["userIdentity"]["userName"])
        self.assertEqual(context["errorCode"], "AccessDenied")
        self.assertIsNone(context["errorMessage"])
        self.assertEqual(context["requestParameters"], {"userName": "backdoor", "tags": [{"key": "k", "value": "v"}]})
        self.assertIs(type(context["requestParameters"]), dict)
        json.dumps(context)  # plain data only: the stdlib encoder must accept it


class Patterns(unittest.TestCase):
    def test_pattern_match(self):
        self.assertTrue(pattern_match("DeleteTrail", "Delete*"))
        self.assertTrue(pattern_match("PutBucketPolicy", "Put*Policy"))
        self.assertFalse(pattern_match("deletetrail", "Delete*"))
        self.assertFalse(pattern_match(None, "*"))
        self.assertTrue(pattern_match(443, "44?"))

    def test_pattern_match_list(self):
        self.assertTrue(pattern_match_list("StopLogging", ["Delete*", "Stop*"]))
        self.assertFalse(pattern_match_list("StartLogging", ["Delete*", "Stop*"]))
        self.assertFalse(pattern_match_list("x", []))


class Principals(unittest.TestCase):
    def test_principal_key(self):
        self.assertEqual(principal_key(event(ROLE)), ROLE["arn"])
        self.assertEqual(principal_key(event({"type": "AWSAccount", "accountId": "444455556666"})), "account:444455556666")
        self.assertEqual(principal_key({"userIdentity": {"type": "Root"}}), "root")
        self.assertEqual(principal_key(PantherEvent({})), "unknown")

    def test_principal_arn_matches(self):
        self.assertTrue(principal_arn_matches(event(ROLE), ["arn:aws:sts::*:assumed-role/Admin/*"]))
        self.assertFalse(principal_arn_matches(event(ROLE), ["arn:aws:sts::*:assumed-role/Other/*"]))
        self.assertFalse(principal_arn_matches(event(ROLE), []))
        # no ARN: only "*" matches the empty string
        self.assertFalse(principal_arn_matches({"userIdentity": {}}, ["arn:*"]))
        self.assertTrue(principal_arn_matches({"userIdentity": {}}, ["*"]))

    def test_acts_on_other_user(self):
        self.assertTrue(acts_on_other_user(event(IAM_USER)))  # requestParameters.userName is "backdoor"
        self.assertFalse(acts_on_other_user(event(IAM_USER, requestParameters={"userName": "alice"})))
        self.assertFalse(acts_on_other_user(event(IAM_USER, requestParameters={})))
        self.assertFalse(acts_on_other_user(event(IAM_USER, requestParameters=None)))
        self.assertTrue(acts_on_other_user({"userIdentity": ROLE, "requestParameters": {"userName": "x"}}))

    def test_sign_in_user(self):
        self.assertEqual(sign_in_user(event(ROOT)), "root")
        self.assertEqual(sign_in_user(event(IAM_USER)), "alice")
        self.assertIsNone(sign_in_user(event({"type": "IAMUser", "userName": "HIDDEN_DUE_TO_SECURITY_REASONS"})))
        self.assertIsNone(sign_in_user(event({"type": "IAMUser"})))
        self.assertIsNone(sign_in_user({}))


class UserAgents(unittest.TestCase):
    def test_is_iac_user_agent(self):
        terraform = "APN/1.0 HashiCorp/1.0 Terraform/1.5.7 (+https://www.terraform.io) terraform-provider-aws/5.31.0"
        self.assertTrue(is_iac_user_agent(event(ROLE, userAgent=terraform)))
        self.assertTrue(is_iac_user_agent({"userAgent": "aws-sdk-go/1.44 pulumi-aws/6.0.0"}))
        self.assertFalse(is_iac_user_agent(event(ROLE)))  # aws-cli
        self.assertFalse(is_iac_user_agent(event(ROLE, userAgent=None)))
        self.assertFalse(is_iac_user_agent({}))
        self.assertIsInstance(IAC_USER_AGENTS, tuple)


class Values(unittest.TestCase):
    def test_as_list(self):
        self.assertEqual(as_list(None), [])
        self.assertEqual(as_list([1, 2]), [1, 2])
        self.assertEqual(as_list((1, 2)), [1, 2])
        self.assertEqual(as_list("abc"), ["abc"])
        self.assertEqual(as_list(b"ab"), [b"ab"])
        self.assertEqual(as_list({"a": 1}), [{"a": 1}])
        self.assertEqual(as_list(0), [0])
        self.assertEqual(as_list([]), [])
        wrapped = event(ROLE).deep_get("requestParameters", "tags")
        self.assertEqual(as_list(wrapped), [{"key": "k", "value": "v"}])
        one = event(ROLE).deep_get("requestParameters")
        self.assertEqual(len(as_list(one)), 1)
        self.assertIs(as_list(one)[0], one)
        original = [1]
        self.assertIsNot(as_list(original), original)  # a copy: the caller may change it

    def test_plain(self):
        value = event(ROLE).deep_get("requestParameters")
        copied = plain(value)
        self.assertIs(type(copied), dict)
        self.assertIs(type(copied["tags"]), list)
        self.assertEqual(copied, {"userName": "backdoor", "tags": [{"key": "k", "value": "v"}]})
        copied["tags"].append(1)
        self.assertEqual(len(value["tags"]), 1)  # independent of the event
        self.assertEqual(plain("x"), "x")
        self.assertIsNone(plain(None))
        self.assertEqual(json.dumps(plain(event(ROLE).deep_get("userIdentity")), sort_keys=True), json.dumps(ROLE, sort_keys=True))

    def test_is_true_and_is_false(self):
        for value in (True, "true", "True", "TRUE"):
            self.assertTrue(is_true(value), value)
            self.assertFalse(is_false(value), value)
        for value in (False, "false", "False"):
            self.assertTrue(is_false(value), value)
            self.assertFalse(is_true(value), value)
        for value in (None, "", 0, 1, "yes", "no", [], {}):
            self.assertFalse(is_true(value), value)
            self.assertFalse(is_false(value), value)


class Arns(unittest.TestCase):
    def test_name_from_arn(self):
        self.assertEqual(name_from_arn("arn:aws:cloudtrail:us-east-1:111122223333:trail/main", ":trail/"), "main")
        self.assertEqual(name_from_arn("main", ":trail/"), "main")
        self.assertEqual(
            name_from_arn("arn:aws:cloudtrail:us-east-1:1:eventdatastore/eds-1", ":trail/", ":eventdatastore/"), "eds-1"
        )
        # the first marker listed wins, not the first in the string
        self.assertEqual(name_from_arn("a:x/b:y/c", ":y/", ":x/"), "c")
        self.assertEqual(name_from_arn("arn:...:trail/", ":trail/"), "")
        self.assertIsNone(name_from_arn(None, ":trail/"))
        self.assertEqual(name_from_arn(42, ":trail/"), 42)

    def test_arn_account(self):
        key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd"
        self.assertEqual(arn_account(key), "111122223333")
        self.assertEqual(arn_account(key, "kms"), "111122223333")
        self.assertIsNone(arn_account(key, "s3"))
        self.assertEqual(arn_account("arn:aws-us-gov:logs:us-gov-west-1:111122223333:log-group:x:*"), "111122223333")
        self.assertEqual(arn_account("arn:aws:iam::111122223333:role/x"), "111122223333")
        self.assertIsNone(arn_account("arn:aws:s3:::my-bucket"))
        self.assertIsNone(arn_account("arn:aws:iam::aws:policy/AdministratorAccess"))
        self.assertIsNone(arn_account("alias/my-key"))
        self.assertIsNone(arn_account("arn:aws:kms:us-east-1:111122223333"))  # no resource part
        self.assertIsNone(arn_account(None))
        self.assertIsNone(arn_account(111122223333))

    def test_principal_account(self):
        self.assertEqual(principal_account("444455556666"), "444455556666")
        self.assertEqual(principal_account("arn:aws:iam::444455556666:root"), "444455556666")
        self.assertEqual(principal_account("arn:aws:sts::444455556666:assumed-role/r/s"), "444455556666")
        self.assertEqual(principal_account("arn:aws-cn:iam::444455556666:user/u"), "444455556666")
        for value in ("*", "lambda.amazonaws.com", "4444555566667", "44445555666",
                      "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E1",
                      "arn:aws:kms:us-east-1:444455556666:key/k", None, 444455556666):
            self.assertIsNone(principal_account(value), value)

    def test_is_external_account(self):
        here = {"recipientAccountId": "111122223333"}
        self.assertTrue(is_external_account("444455556666", here))
        self.assertFalse(is_external_account("111122223333", here))
        self.assertFalse(is_external_account("444455556666", here, {"444455556666"}))
        self.assertFalse(is_external_account("444455556666", here, ["444455556666"]))
        self.assertFalse(is_external_account(None, here))
        self.assertFalse(is_external_account("", here))
        self.assertTrue(is_external_account(444455556666, here))  # compared as strings
        self.assertFalse(is_external_account(111122223333, here))
        self.assertTrue(is_external_account("444455556666", {}))  # no own account: any account is another
        self.assertTrue(is_external_account("444455556666", event(ROLE)))


class Policies(unittest.TestCase):
    DOCUMENT = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
            "not a statement",
        ],
    }

    def test_parse_policy(self):
        text = json.dumps(self.DOCUMENT)
        self.assertEqual(parse_policy(text), self.DOCUMENT)
        self.assertEqual(parse_policy("  " + quote(text)), self.DOCUMENT)  # URL-encoded
        self.assertIsNone(parse_policy("not json"))
        self.assertIsNone(parse_policy("[1, 2]"))  # not an object
        self.assertIsNone(parse_policy(None))
        self.assertIsNone(parse_policy(self.DOCUMENT))  # already a document: not text

    def test_policy_statements(self):
        self.assertEqual(len(policy_statements(self.DOCUMENT)), 2)
        self.assertEqual(policy_statements(self.DOCUMENT, effect="Allow"), [self.DOCUMENT["Statement"][0]])
        self.assertEqual(policy_statements(self.DOCUMENT, effect="Deny"), [self.DOCUMENT["Statement"][1]])
        one = {"Statement": {"Effect": "Allow", "Action": "*"}}
        self.assertEqual(policy_statements(one), [one["Statement"]])
        self.assertEqual(policy_statements({}), [])
        self.assertEqual(policy_statements(None), [])
        self.assertEqual(policy_statements(json.dumps(self.DOCUMENT)), [])  # text: parse_policy first

    def test_policy_statements_in_an_event(self):
        # S3 writes bucket policies as objects; keys are then case-insensitive like the event's.
        raw = {"requestParameters": {"bucketPolicy": {"statement": [{"effect": "Allow", "Sid": "a"}]}}}
        statements = policy_statements(PantherEvent(raw).deep_get("requestParameters", "bucketPolicy"), effect="Allow")
        self.assertEqual([s.get("Sid") for s in statements], ["a"])


class Ec2(unittest.TestCase):
    def test_ec2_items(self):
        raw = {"requestParameters": {"instancesSet": {"items": [{"instanceId": "i-1"}, "junk", {"instanceId": "i-2"}]}}}
        self.assertEqual(
            [i.get("instanceId") for i in ec2_items(PantherEvent(raw), "requestParameters", "instancesSet")], ["i-1", "i-2"]
        )
        self.assertEqual(ec2_items(raw["requestParameters"], "instancesSet"), [{"instanceId": "i-1"}, {"instanceId": "i-2"}])
        self.assertEqual(ec2_items(PantherEvent(raw), "REQUESTPARAMETERS", "INSTANCESSET")[0].get("instanceId"), "i-1")
        self.assertEqual(ec2_items(raw, "requestParameters", "missing"), [])
        self.assertEqual(ec2_items({"x": {"items": {"instanceId": "i-1"}}}, "x"), [])  # not a list
        self.assertEqual(ec2_items({"x": {"items": "i-1"}}, "x"), [])
        self.assertEqual(ec2_items(None, "x"), [])

    def test_ec2_permission_grants(self):
        def share(*items):
            return PantherEvent(
                {
                    "recipientAccountId": "111122223333",
                    "requestParameters": {"launchPermission": {"add": {"items": list(items)}}},
                }
            )

        self.assertEqual(ec2_permission_grants(share({"group": "all"}), "launchPermission"), (True, []))
        self.assertEqual(
            ec2_permission_grants(share({"userId": "444455556666"}, {"userId": "111122223333"}), "launchPermission"),
            (False, ["444455556666"]),
        )
        self.assertEqual(
            ec2_permission_grants(share({"userId": "444455556666"}), "launchPermission", trusted={"444455556666"}),
            (False, []),
        )
        self.assertEqual(ec2_permission_grants(share({"userId": "444455556666"}), "createVolumePermission"), (False, []))
        self.assertEqual(ec2_permission_grants(PantherEvent({}), "launchPermission"), (False, []))


class Documentation(unittest.TestCase):
    def test_every_exported_function_is_documented(self):
        import iota_helpers

        for name in iota_helpers.__all__:
            value = getattr(iota_helpers, name)
            if callable(value):
                self.assertTrue(value.__doc__, name)
                self.assertIn(f"    {name}(", iota_helpers.__doc__, name)

    def test_the_examples_in_the_docstrings_hold(self):
        import doctest

        import iota_helpers

        result = doctest.testmod(iota_helpers)
        self.assertGreater(result.attempted, 0)
        self.assertEqual(result.failed, 0)


if __name__ == "__main__":
    unittest.main()


class ServiceLinkedRoleTest(unittest.TestCase):
    def test_a_service_linked_role_session_is_an_aws_service(self):
        from iota_helpers import is_aws_service

        event = {
            "sourceIPAddress": "10.0.0.1",
            "userIdentity": {
                "type": "AssumedRole",
                "sessionContext": {
                    "sessionIssuer": {
                        "arn": "arn:aws:iam::111122223333:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing"
                    }
                },
            },
        }
        self.assertTrue(is_aws_service(event))
        event["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] = "arn:aws:iam::111122223333:role/Admin"
        self.assertFalse(is_aws_service(event))
