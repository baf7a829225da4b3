"""Tests of Panther InlineFilters (iota_runtime.inline_filters): every condition, key paths
with wildcards and any key case, All/Any groups, and the errors that make a rule fail to
import."""

import unittest

from iota_runtime.inline_filters import compile_filters

EVENT = {
    "eventName": "ConsoleLogin",
    "eventSource": "signin.amazonaws.com",
    "sourceIPAddress": "52.94.76.10",
    "errorCode": None,
    "userAgent": "",
    "readOnly": False,
    "eventVersion": "1.08",
    "requestParameters": {"durationSeconds": 3600, "tags": [], "BucketName": "logs"},
    "responseElements": {"ConsoleLogin": "Success"},
    "additionalEventData": {"MFAUsed": "No", "MobileVersion": "No"},
    "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111122223333:root"},
    "resources": [{"ARN": "arn:aws:s3:::logs", "type": "AWS::S3::Bucket"}, {"ARN": "arn:aws:s3:::data"}],
    "p_any_ip_addresses": ["52.94.76.10", "10.1.2.3"],
}


def holds(key_path, condition, **value):
    accepts = compile_filters({"All": [dict(KeyPath=key_path, Condition=condition, **value)]})
    return accepts(EVENT)


class Conditions(unittest.TestCase):
    def check(self, condition, cases):
        for key_path, value, expected in cases:
            with self.subTest(condition=condition, key_path=key_path, value=value):
                self.assertIs(holds(key_path, condition, **value), expected)

    def test_equals_and_does_not_equal(self):
        self.check(
            "Equals",
            [
                ("eventName", {"Value": "ConsoleLogin"}, True),
                ("eventName", {"Value": "consolelogin"}, False),
                ("requestParameters.durationSeconds", {"Value": 3600}, True),
                ("requestParameters.durationSeconds", {"Value": 3600.0}, True),
                ("requestParameters.durationSeconds", {"Value": "3600"}, False),
                ("readOnly", {"Value": False}, True),
                ("readOnly", {"Value": 0}, False),  # false is not 0
                ("missing", {"Value": None}, True),  # a missing key reads as null
                ("errorCode", {"Value": None}, True),
            ],
        )
        self.check(
            "DoesNotEqual",
            [
                ("eventName", {"Value": "ConsoleLogin"}, False),
                ("eventName", {"Value": "StopLogging"}, True),
                ("missing", {"Value": "x"}, True),
                ("missing", {"Value": None}, False),
            ],
        )

    def test_is_in_and_is_not_in(self):
        self.check(
            "IsIn",
            [
                ("eventName", {"Values": ["StopLogging", "ConsoleLogin"]}, True),
                ("eventName", {"Values": ["StopLogging"]}, False),
                ("eventName", {"Value": ["ConsoleLogin"]}, True),
                ("missing", {"Values": ["x"]}, False),
                ("missing", {"Values": ["x", None]}, True),
            ],
        )
        self.check(
            "IsNotIn",
            [
                ("eventName", {"Values": ["StopLogging", "ConsoleLogin"]}, False),
                ("eventName", {"Values": ["StopLogging"]}, True),
                ("missing", {"Values": ["x"]}, True),
            ],
        )

    def test_string_conditions(self):
        self.check(
            "StartsWith",
            [
                ("eventName", {"Value": "Console"}, True),
                ("eventName", {"Value": "console"}, False),
                ("requestParameters.durationSeconds", {"Value": "36"}, False),
                ("missing", {"Value": ""}, False),
            ],
        )
        self.check("EndsWith", [("eventSource", {"Value": ".amazonaws.com"}, True), ("eventSource", {"Value": "x"}, False)])
        self.check(
            "Contains",
            [
                ("userIdentity.arn", {"Value": ":root"}, True),
                ("userIdentity.arn", {"Value": ":user/"}, False),
                ("p_any_ip_addresses", {"Value": "10.1.2.3"}, True),
                ("p_any_ip_addresses", {"Value": "10.1.2"}, False),
                ("missing", {"Value": "x"}, False),
            ],
        )
        self.check(
            "DoesNotContain",
            [("userIdentity.arn", {"Value": ":root"}, False), ("userIdentity.arn", {"Value": ":user/"}, True), ("missing", {"Value": "x"}, True)],
        )

    def test_existence_conditions(self):
        self.check(
            "Exists",
            [("eventName", {}, True), ("errorCode", {}, False), ("missing", {}, False), ("userAgent", {}, True)],
        )
        self.check("DoesNotExist", [("eventName", {}, False), ("errorCode", {}, True), ("missing", {}, True)])
        self.check(
            "IsNullOrEmpty",
            [
                ("errorCode", {}, True),
                ("userAgent", {}, True),
                ("requestParameters.tags", {}, True),
                ("missing", {}, True),
                ("eventName", {}, False),
                ("readOnly", {}, False),
            ],
        )
        self.check(
            "IsNotNullOrEmpty",
            [("errorCode", {}, False), ("userAgent", {}, False), ("requestParameters", {}, True), ("readOnly", {}, True)],
        )

    def test_numeric_conditions(self):
        self.check(
            "IsGreaterThan",
            [
                ("requestParameters.durationSeconds", {"Value": 3599}, True),
                ("requestParameters.durationSeconds", {"Value": 3600}, False),
                ("eventVersion", {"Value": 1.05}, True),  # a numeric string
                ("eventName", {"Value": 1}, False),
                ("readOnly", {"Value": -1}, False),  # a boolean is not a number
                ("missing", {"Value": 0}, False),
            ],
        )
        self.check("IsLessThan", [("requestParameters.durationSeconds", {"Value": "3601"}, True)])
        self.check("IsGreaterThanOrEqual", [("requestParameters.durationSeconds", {"Value": 3600}, True)])
        self.check(
            "IsLessThanOrEqual",
            [("requestParameters.durationSeconds", {"Value": 3600}, True), ("requestParameters.durationSeconds", {"Value": 3599.5}, False)],
        )

    def test_ip_conditions(self):
        self.check(
            "IsIPAddressInCIDR",
            [
                ("sourceIPAddress", {"Value": "52.94.0.0/16"}, True),
                ("sourceIPAddress", {"Value": "10.0.0.0/8"}, False),
                ("sourceIPAddress", {"Values": ["10.0.0.0/8", "52.0.0.0/8"]}, True),
                ("sourceIPAddress", {"Value": "2001:db8::/32"}, False),
                ("eventName", {"Value": "0.0.0.0/0"}, False),
                ("p_any_ip_addresses[*]", {"Value": "10.0.0.0/8"}, True),
                ("p_any_ip_addresses", {"Value": "10.0.0.0/8"}, False),  # a list is not an address
            ],
        )
        self.check(
            "IsIPAddressNotInCIDR",
            [("sourceIPAddress", {"Value": "52.94.0.0/16"}, False), ("sourceIPAddress", {"Value": "10.0.0.0/8"}, True)],
        )
        self.check(
            "IsIPAddressPrivate",
            [("sourceIPAddress", {}, False), ("p_any_ip_addresses[*]", {}, True), ("eventName", {}, False)],
        )
        self.check(
            "IsIPAddressPublic",
            [("sourceIPAddress", {}, True), ("p_any_ip_addresses[1]", {}, False), ("eventName", {}, False)],
        )


class Paths(unittest.TestCase):
    def test_key_lookups_are_case_insensitive_exact_first(self):
        self.assertTrue(holds("EVENTNAME", "Equals", Value="ConsoleLogin"))
        self.assertTrue(holds("requestParameters.bucketName", "Equals", Value="logs"))
        accepts = compile_filters([{"KeyPath": "Name", "Condition": "Equals", "Value": "exact"}])
        self.assertTrue(accepts({"name": "other", "Name": "exact"}))

    def test_wildcards_and_indexes(self):
        self.assertTrue(holds("resources[*].ARN", "Equals", Value="arn:aws:s3:::data"))
        self.assertFalse(holds("resources[*].ARN", "DoesNotEqual", Value="arn:aws:s3:::data"))
        self.assertTrue(holds("resources[*].type", "Exists"))
        self.assertTrue(holds("resources[0].type", "Equals", Value="AWS::S3::Bucket"))
        self.assertFalse(holds("resources[1].type", "Exists"))
        self.assertTrue(holds("resources[*].missing", "DoesNotExist"))
        self.assertTrue(holds("resources[5]", "IsNullOrEmpty"))
        self.assertTrue(holds("$.additionalEventData.MFAUsed", "Equals", Value="No"))


class Groups(unittest.TestCase):
    def test_all_any_and_nesting(self):
        login = {"KeyPath": "eventName", "Condition": "Equals", "Value": "ConsoleLogin"}
        stop = {"KeyPath": "eventName", "Condition": "Equals", "Value": "StopLogging"}
        root = {"KeyPath": "userIdentity.type", "Condition": "Equals", "Value": "Root"}
        self.assertTrue(compile_filters({"All": [login, root]})(EVENT))
        self.assertFalse(compile_filters({"All": [stop, root]})(EVENT))
        self.assertTrue(compile_filters({"Any": [stop, login]})(EVENT))
        self.assertFalse(compile_filters({"Any": [stop]})(EVENT))
        self.assertFalse(compile_filters({"All": [root], "Any": [stop]})(EVENT))
        self.assertTrue(compile_filters({"All": [root, {"Any": [stop, login]}]})(EVENT))
        self.assertFalse(compile_filters({"Any": [{"All": [stop, root]}, {"All": [login, stop]}]})(EVENT))
        self.assertTrue(compile_filters([root, login])(EVENT))

    def test_nothing_to_filter(self):
        self.assertIsNone(compile_filters(None))
        self.assertIsNone(compile_filters({}))
        self.assertIsNone(compile_filters({"All": [], "Any": []}))
        self.assertIsNone(compile_filters([]))
        self.assertTrue(compile_filters({"Any": [{"All": []}]})(EVENT))


class Errors(unittest.TestCase):
    def test_errors(self):
        for spec, message in (
            ({"All": [{"KeyPath": "eventName", "Condition": "Matches", "Value": "x"}]}, "unsupported Condition 'Matches'"),
            ({"All": [{"KeyPath": "eventName", "Condition": "Equals"}]}, "Equals on 'eventName' needs Value"),
            ({"All": [{"KeyPath": "eventName", "Condition": "IsIn", "Values": "x"}]}, "needs Values: a list"),
            ({"All": [{"KeyPath": "eventName", "Condition": "StartsWith", "Value": 1}]}, "needs Value: a string"),
            ({"All": [{"KeyPath": "a", "Condition": "IsGreaterThan", "Value": "many"}]}, "needs Value: a number"),
            ({"All": [{"KeyPath": "ip", "Condition": "IsIPAddressInCIDR", "Value": "10.0.0.0/33"}]}, "IsIPAddressInCIDR on 'ip'"),
            ({"All": [{"KeyPath": "a..b", "Condition": "Exists"}]}, "bad KeyPath"),
            ({"All": [{"KeyPath": None, "Condition": "Exists"}]}, "bad KeyPath"),
            ({"OnlyOne": []}, "unsupported key(s) ['OnlyOne']"),
            ({"All": {"KeyPath": "a"}}, "All must be a list"),
            ({"All": ["eventName"]}, "expected a KeyPath condition"),
            ("eventName", "must be a mapping"),
        ):
            with self.subTest(spec=spec):
                with self.assertRaises(ValueError) as raised:
                    compile_filters(spec)
                self.assertTrue(str(raised.exception).startswith("InlineFilters: "), raised.exception)
                self.assertIn(message, str(raised.exception))


if __name__ == "__main__":
    unittest.main()
