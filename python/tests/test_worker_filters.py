"""End-to-end tests of the worker's side of prefilters (WORKER_PROTOCOL.md, "Prefilters"):
`ready.inferred_filters`, InlineFilters applied before rule() in a batch and in a test, and
InlineFilters the worker cannot evaluate reported as import errors."""

import unittest

from tests.test_worker import CONSOLE_LOGIN, STOP_LOGGING, WorkerTestCase, rule_spec, write_files

GUARDED = """
    TRAIL_EVENTS = {"StopLogging", "DeleteTrail"}


    def rule(event):
        if event.get("eventName") not in TRAIL_EVENTS:
            return False
        return event.get("eventSource") == "cloudtrail.amazonaws.com"
"""

ANY_EVENT_BY_NAME = """
    def rule(event):
        return event.get("eventName") in ("StopLogging", "ConsoleLogin")


    def title(event):
        return "seen " + event.get("eventName")
"""

RAISES = """
    def rule(event):
        return event["noSuchField"]
"""

HELPER = """
    def _watched(event):
        return event.get("eventName") == "ConsoleLogin"


    def rule(event):
        return _watched(event)
"""

ROOT_ONLY = {"All": [{"KeyPath": "userIdentity.type", "Condition": "Equals", "Value": "Root"}]}


class Prefilters(WorkerTestCase):
    def setUp(self):
        super().setUp()
        self.files = write_files(
            self.tmp.name,
            {
                "guarded.py": GUARDED,
                "by_name.py": ANY_EVENT_BY_NAME,
                "raises.py": RAISES,
                "helper.py": HELPER,
                "needs_sdk.py": "import missing_cloud_sdk\n\n\ndef rule(event):\n    return True\n",
            },
        )

    def start(self):
        files = self.files
        return self.init(
            [
                rule_spec(0, "Guarded", files["guarded.py"]),
                rule_spec(1, "GuardedDeclared", files["guarded.py"], declared_filter=True),
                rule_spec(2, "RootByName", files["by_name.py"], kind="panther", inline_filters=ROOT_ONLY),
                rule_spec(3, "RaisesUnlessFiltered", files["raises.py"], inline_filters=ROOT_ONLY),
                rule_spec(4, "Helper", files["helper.py"], declared_filter=False),
                rule_spec(5, "NeedsSdk", files["needs_sdk.py"]),
                rule_spec(
                    6,
                    "BadFilter",
                    files["by_name.py"],
                    inline_filters={"All": [{"KeyPath": "eventName", "Condition": "Matches", "Value": "x"}]},
                ),
                rule_spec(7, "NullFilters", files["by_name.py"], inline_filters=None),
            ]
        )

    def test_ready_reports_inferred_filters(self):
        ready = self.start()
        self.assertEqual(
            ready["inferred_filters"],
            {
                "0": {
                    "all": [
                        {"key": ["eventName"], "in": ["DeleteTrail", "StopLogging"]},
                        {"key": ["eventSource"], "equals": "cloudtrail.amazonaws.com"},
                    ]
                },
                "2": {"key": ["eventName"], "in": ["ConsoleLogin", "StopLogging"]},
                # rule() raises on events without the key: they cannot match, so Rust may skip
                # them (the error is then not reported).
                "3": {"key": ["noSuchField"], "exists": True},
                "7": {"key": ["eventName"], "in": ["ConsoleLogin", "StopLogging"]},
            },
        )
        errors = {e["index"]: e["error"] for e in ready["import_errors"]}
        self.assertEqual(sorted(errors), [5, 6])
        self.assertTrue(errors[6].startswith("ValueError: InlineFilters: unsupported Condition 'Matches' on 'eventName'"), errors[6])

    def test_inline_filters_drop_events_before_rule(self):
        self.start()
        self.worker.send(
            {
                "type": "batch",
                "id": 9,
                "sets": [[0, 2, 3, 4, 7]],
                # An hour apart: each match is the earliest of its window, so each is described.
                "events": [[0, STOP_LOGGING, 0, None], [0, CONSOLE_LOGIN, 3600 * 10**9, None]],
            }
        )
        results = self.worker.receive()
        self.assertEqual(
            [(m["event"], m["rule"], m["details"]["title"]) for m in results["matches"]],
            [
                (0, 0, "Guarded"),
                (0, 2, "seen StopLogging"),
                (0, 7, "seen StopLogging"),
                # RootByName would match ConsoleLogin, but alice is not Root.
                (1, 4, "Helper"),
                (1, 7, "seen ConsoleLogin"),
            ],
        )
        # rule() of RaisesUnlessFiltered ran only on the event its filters let through.
        self.assertEqual(
            [(e["event"], e["rule"], e["error"]) for e in results["errors"]],
            [(0, 3, "KeyError: 'noSuchField'")],
        )
        self.assertIn('raises.py", line 2, in rule', results["errors"][0]["traceback"])
        self.assertNotIn("worker.py", results["errors"][0]["traceback"])

    def test_inline_filters_apply_in_tests(self):
        self.start()
        self.worker.send(
            {
                "type": "test",
                "id": 10,
                "rule": 2,
                "cases": [
                    {"name": "root stops logging", "expected": True, "event": STOP_LOGGING},
                    {"name": "alice logs in", "expected": True, "event": CONSOLE_LOGIN},
                    {"name": "alice logs in, filtered", "expected": False, "event": CONSOLE_LOGIN},
                ],
            }
        )
        cases = self.worker.receive()["cases"]
        self.assertEqual(
            [(c["name"], c["matched"], c["passed"], c["error"], c["title"]) for c in cases],
            [
                ("root stops logging", True, True, None, "seen StopLogging"),
                (
                    "alice logs in",
                    False,
                    False,
                    "the event does not pass the rule's InlineFilters, expected True",
                    None,
                ),
                ("alice logs in, filtered", False, True, None, None),
            ],
        )


if __name__ == "__main__":
    unittest.main()
