"""Tests of the rule-author helpers in iota_helpers."""

import json
import unittest

from iota_helpers import (
    aws_rule_context,
    deep_get,
    deep_walk,
    is_aws_service,
    is_ip_in_network,
    pattern_match,
    pattern_match_list,
    principal,
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
