"""Tests of how a match becomes a results entry (iota_runtime.rules): defaults, severity
handling, return-type checks and string limits."""

import types
import unittest

from iota_runtime.event import PantherEvent
from iota_runtime.rules import Rule

EVENT = PantherEvent({"eventName": "StopLogging", "userIdentity": {"type": "Root", "arn": "arn:aws:iam::1:root"}})


def module(**functions):
    namespace = types.ModuleType("rule_under_test")
    namespace.rule = lambda event: True
    for name, function in functions.items():
        setattr(namespace, name, function)
    return namespace


def make(kind="panther", max_length=1000, metadata_severity="HIGH", display_name="Trail stopped", **functions):
    spec = {
        "index": 4,
        "id": "AWS.Trail.Stopped",
        "kind": kind,
        "severity": metadata_severity,
        "display_name": display_name,
    }
    return Rule(spec, module(**functions), max_length)


def run(rule):
    """identify() then details(), as the worker runs them for the earliest match of a window,
    merged into one dict."""
    errors = []
    match, title = rule.identify(EVENT, 2, errors)
    match.update(rule.details(EVENT, 2, errors, title))
    return match, errors


class Defaults(unittest.TestCase):
    def test_plain_rule(self):
        match, errors = run(make(kind="plain", metadata_severity=None, display_name=None))
        self.assertEqual(errors, [])
        self.assertEqual(
            match,
            {
                "event": 2,
                "rule": 4,
                "title": "AWS.Trail.Stopped",
                "dedup": "AWS.Trail.Stopped",
                "severity": "INFO",
                "alert_context": None,
                "description": None,
                "reference": None,
                "runbook": None,
                "destinations": None,
                "unique": None,
            },
        )

    def test_plain_rule_dedup_stays_the_rule_id(self):
        match, _ = run(make(kind="plain", title=lambda e: "custom"))
        self.assertEqual((match["title"], match["dedup"]), ("custom", "AWS.Trail.Stopped"))

    def test_panther_rule_without_title(self):
        match, errors = run(make())
        self.assertEqual(errors, [])
        self.assertEqual(match["title"], "Trail stopped")
        self.assertEqual(match["dedup"], "defaultDedupString:AWS.Trail.Stopped")
        self.assertEqual(match["severity"], "HIGH")

    def test_panther_rule_without_display_name(self):
        match, _ = run(make(display_name=None))
        self.assertEqual(match["title"], "AWS.Trail.Stopped")

    def test_panther_dedup_defaults_to_the_title(self):
        match, _ = run(make(title=lambda e: f"{e.get('eventName')} by root"))
        self.assertEqual((match["title"], match["dedup"]), ("StopLogging by root", "StopLogging by root"))
        match, _ = run(make(title=lambda e: ""))
        self.assertEqual((match["title"], match["dedup"]), ("Trail stopped", "defaultDedupString:AWS.Trail.Stopped"))

    def test_metadata_severity_is_normalised(self):
        match, _ = run(make(metadata_severity="medium"))
        self.assertEqual(match["severity"], "MEDIUM")
        match, _ = run(make(metadata_severity="bogus"))
        self.assertEqual(match["severity"], "INFO")


class FunctionResults(unittest.TestCase):
    def test_every_function(self):
        rule = make(
            title=lambda e: "t",
            dedup=lambda e: e.deep_get("userIdentity", "arn"),
            severity=lambda e: "critical",
            alert_context=lambda e: {"identity": e.get("userIdentity"), 1: ("a", None)},
            description=lambda e: "d",
            reference=lambda e: "https://example.com",
            runbook=lambda e: "",
            destinations=lambda e: ("slack",),
            unique=lambda e: "u",
        )
        match, errors = run(rule)
        self.assertEqual(errors, [])
        self.assertEqual(match["title"], "t")
        self.assertEqual(match["dedup"], "arn:aws:iam::1:root")
        self.assertEqual(match["severity"], "CRITICAL")
        self.assertEqual(
            match["alert_context"],
            {"identity": {"type": "Root", "arn": "arn:aws:iam::1:root"}, "1": ["a", None]},
        )
        self.assertEqual(match["description"], "d")
        self.assertEqual(match["reference"], "https://example.com")
        self.assertIsNone(match["runbook"])
        self.assertEqual(match["destinations"], ["slack"])
        self.assertEqual(match["unique"], "u")

    def test_severity_without_event_and_default(self):
        spec = {"index": 0, "id": "r", "kind": "plain", "severity": "LOW"}
        match, errors = run(Rule(spec, module(severity=lambda: "high"), 1000))
        self.assertEqual((match["severity"], errors), ("HIGH", []))
        match, errors = run(Rule(spec, module(severity=lambda: "DEFAULT"), 1000))
        self.assertEqual((match["severity"], errors), ("LOW", []))

    def test_empty_destinations_suppress_delivery(self):
        match, errors = run(make(destinations=lambda e: []))
        self.assertEqual((match["destinations"], errors), ([], []))
        match, errors = run(make(destinations=lambda e: None))
        self.assertEqual((match["destinations"], errors), (None, []))

    def test_strings_are_cut(self):
        rule = make(max_length=5, title=lambda e: "abcdefgh", description=lambda e: "0123456789")
        match, _ = run(rule)
        self.assertEqual((match["title"], match["dedup"], match["description"]), ("abcde", "abcde", "01234"))

    def test_lone_surrogates_are_replaced(self):
        match, errors = run(make(title=lambda e: "bad \ud800 text"))
        self.assertEqual((match["title"], errors), ("bad ? text", []))


class FunctionErrors(unittest.TestCase):
    def assert_single_error(self, errors, function, error):
        self.assertEqual(len(errors), 1, errors)
        self.assertEqual(errors[0]["event"], 2)
        self.assertEqual(errors[0]["rule"], 4)
        self.assertEqual(errors[0]["function"], function)
        self.assertEqual(errors[0]["error"], error)

    def test_raising_function_uses_default(self):
        match, errors = run(make(title=lambda e: e["missing"]))
        self.assertEqual(match["title"], "Trail stopped")
        self.assert_single_error(errors, "title", "KeyError: 'missing'")
        self.assertIn("Traceback (most recent call last)", errors[0]["traceback"])
        self.assertNotIn("iota_runtime/rules.py", errors[0]["traceback"])

    def test_wrong_types(self):
        cases = [
            ("title", lambda e: 42, "title", "Trail stopped", "ReturnTypeError: title() returned int, expected str"),
            ("dedup", lambda e: None, "dedup", "defaultDedupString:AWS.Trail.Stopped",
             "ReturnTypeError: dedup() returned NoneType, expected str"),
            ("severity", lambda e: "urgent", "severity", "HIGH",
             "ReturnTypeError: severity() returned 'urgent', "
             "expected one of INFO, LOW, MEDIUM, HIGH, CRITICAL or DEFAULT"),
            ("alert_context", lambda e: ["x"], "alert_context", None,
             "ReturnTypeError: alert_context() returned list, expected dict"),
            ("destinations", lambda e: "slack", "destinations", None,
             "ReturnTypeError: destinations() returned str, expected a list of str or None"),
            ("destinations", lambda e: [1], "destinations", None,
             "ReturnTypeError: destinations() returned a list holding int, expected str"),
            ("unique", lambda e: 7, "unique", None, "ReturnTypeError: unique() returned int, expected str"),
        ]
        for name, function, field, default, error in cases:
            with self.subTest(name=name, error=error):
                match, errors = run(make(**{name: function}))
                self.assertEqual(match[field], default)
                self.assert_single_error(errors, name, error)
                self.assertEqual(errors[0]["traceback"], "")

    def test_alert_context_must_be_json_serialisable(self):
        match, errors = run(make(alert_context=lambda e: {"when": object()}))
        self.assertIsNone(match["alert_context"])
        self.assertEqual(errors[0]["function"], "alert_context")
        self.assertTrue(
            errors[0]["error"].startswith(
                "ReturnTypeError: alert_context() returned a dict that is not JSON-serialisable"
            ),
            errors[0]["error"],
        )

    def test_alert_context_is_bounded(self):
        for context, error in [
            ({"k": "v" * 300_000}, r"returned 300008 bytes of JSON, more than the 262144 bytes"),
            ({str(i): i for i in range(100_000)}, r"returned 100000 entries, more than fit in the 262144 bytes"),
        ]:
            match, errors = run(make(alert_context=lambda e: context))
            self.assertIsNone(match["alert_context"])
            self.assertRegex(errors[0]["error"], r"^ReturnTypeError: alert_context\(\) " + error)
        match, errors = run(make(alert_context=lambda e: {"k": "v" * 200_000}))
        self.assertEqual((len(match["alert_context"]["k"]), errors), (200_000, []))

    def test_non_finite_numbers_in_alert_context_become_null(self):
        match, errors = run(make(alert_context=lambda e: {"nan": float("nan"), "inf": [float("-inf")]}))
        self.assertEqual((match["alert_context"], errors), ({"nan": None, "inf": [None]}, []))

    def test_destinations_are_bounded(self):
        match, errors = run(make(max_length=5, destinations=lambda e: ["slack-security"]))
        self.assertEqual((match["destinations"], errors), (["slack"], []))
        match, errors = run(make(destinations=lambda e: ["x"] * 1_000_000))
        self.assertIsNone(match["destinations"])
        self.assert_single_error(
            errors,
            "destinations",
            "ReturnTypeError: destinations() returned 1000000 destinations, more than the 100 allowed",
        )

    def test_a_huge_wrong_value_is_not_copied_into_the_error(self):
        match, errors = run(make(severity=lambda e: "x" * 10_000_000))
        self.assertEqual(match["severity"], "HIGH")
        self.assertLess(len(errors[0]["error"]), 200, errors[0]["error"])

    def test_system_exit_in_optional_function(self):
        def title(event):
            raise SystemExit(3)

        match, errors = run(make(title=title))
        self.assertEqual(match["title"], "Trail stopped")
        self.assert_single_error(errors, "title", "SystemExit: 3")

    def test_each_function_reports_its_own_error(self):
        match, errors = run(make(title=lambda e: 1 / 0, alert_context=lambda e: {}.pop("x"), runbook=lambda e: "r"))
        self.assertEqual([e["function"] for e in errors], ["title", "alert_context"])
        self.assertEqual(match["runbook"], "r")


if __name__ == "__main__":
    unittest.main()
