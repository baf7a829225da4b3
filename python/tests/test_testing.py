"""End-to-end tests of the rule tooling messages of the worker (`test` and `inspect`), through
a real worker process as iota starts it (see test_worker.py)."""

import unittest

from tests.test_worker import CONSOLE_LOGIN, STOP_LOGGING, WorkerTestCase, rule_spec, write_files

ROOT_ACTIVITY = """
    def rule(event):
        return event.deep_get("userIdentity", "type") == "Root"


    def title(event):
        print("title of", event.get("eventName"))
        return f"Root called {event.get('eventName')}"


    def dedup(event):
        return event.deep_get("userIdentity", "arn")


    def severity(event):
        return "DEFAULT"


    def alert_context(event):
        return {"eventName": event.get("eventName"), 1: "non-string key"}
"""

TITLE_RAISES = """
    def rule(event):
        return True


    def title(event):
        return event["noSuchField"]


    def dedup(event):
        return "fixed-dedup"
"""

BAD_CONTEXT = """
    def rule(event):
        return True


    def title(event):
        return "fine title"


    def alert_context(event):
        return ["not", "a", "dict"]
"""

RULE_RAISES = """
    def rule(event):
        return 1 / 0
"""

# get_counter is the real caching helper (0 for a key nobody incremented) unless mocked.
COUNTS_FAILURES = """
    from panther_detection_helpers.caching import get_counter

    THRESHOLD = 10


    def rule(event):
        return get_counter("failures:" + event.deep_get("userIdentity", "arn", default="")) >= THRESHOLD


    def title(event):
        return "Too many failures"


    def _private_helper():
        return None
"""

DIES = """
    import os


    def rule(event):
        if event.get("eventName") == "ConsoleLogin":
            os._exit(5)
        return False
"""


def case(name, expected, event=STOP_LOGGING, mocks=None):
    entry = {"name": name, "expected": expected, "event": event}
    if mocks is not None:
        entry["mocks"] = mocks
    return entry


def without_traceback(result):
    return {k: v for k, v in result.items() if k != "traceback"}


class TestMessage(WorkerTestCase):
    def run_test(self, test_id, rule, cases):
        self.worker.send({"type": "test", "id": test_id, "rule": rule, "cases": cases})
        answer = self.worker.receive()
        self.assertEqual((answer["type"], answer["id"], answer["rule"]), ("test_results", test_id, rule))
        self.assertEqual(len(answer["cases"]), len(cases))
        # The progress record is written as for a batch.
        self.assertEqual(self.worker.progress(), (test_id, -1, -1))
        return answer["cases"]

    def test_passing_and_failing_cases(self):
        files = write_files(self.tmp.name, {"root_activity.py": ROOT_ACTIVITY})
        self.init(
            [
                rule_spec(
                    2, "AWS.Root.Activity", files["root_activity.py"], kind="panther", severity="high",
                    display_name="Root activity",
                )
            ]
        )
        results = self.run_test(
            7,
            2,
            [
                case("root stops logging", True),
                case("IAM user logs in", False, CONSOLE_LOGIN),
                case("expects a match that is not there", True, CONSOLE_LOGIN),
                case("expects no match but gets one", False),
            ],
        )
        alert = {
            "title": "Root called StopLogging",
            "dedup": "arn:aws:iam::111122223333:root",
            "severity": "HIGH",
            "alert_context": {"eventName": "StopLogging", "1": "non-string key"},
        }
        nothing = {"title": None, "dedup": None, "severity": None, "alert_context": None}
        self.assertEqual(
            results,
            [
                dict(alert, name="root stops logging", expected=True, matched=True, passed=True, error=None,
                     traceback=None),
                dict(nothing, name="IAM user logs in", expected=False, matched=False, passed=True, error=None,
                     traceback=None),
                dict(nothing, name="expects a match that is not there", expected=True, matched=False,
                     passed=False, error="rule() returned False, expected True", traceback=""),
                # What the alert would have carried is still shown.
                dict(alert, name="expects no match but gets one", expected=False, matched=True, passed=False,
                     error="rule() returned True, expected False", traceback=""),
            ],
        )
        self.worker.send({"type": "shutdown"})
        status, stdout, stderr = self.worker.finish()
        self.assertEqual(status, 0, stderr)
        # Prints from rules during tests reach fd 1 as usual.
        self.assertEqual(stdout.count("title of StopLogging\n"), 2)

    def test_true_case_fails_when_another_function_fails(self):
        files = write_files(
            self.tmp.name,
            {"title_raises.py": TITLE_RAISES, "bad_context.py": BAD_CONTEXT, "rule_raises.py": RULE_RAISES},
        )
        self.init(
            [
                rule_spec(0, "TitleRaises", files["title_raises.py"], kind="panther", display_name="Shown name"),
                rule_spec(1, "BadContext", files["bad_context.py"], kind="plain", severity="LOW"),
                rule_spec(4, "RuleRaises", files["rule_raises.py"]),
            ]
        )
        [title_fails, title_fails_false] = self.run_test(
            1, 0, [case("title raises", True), case("title raises, no match expected", False)]
        )
        self.assertEqual(
            without_traceback(title_fails),
            {
                "name": "title raises",
                "expected": True,
                "matched": True,
                "passed": False,
                "error": "title() raised KeyError: 'noSuchField'",
                # The alert falls back to the defaults, as it would in a batch.
                "title": "Shown name",
                "dedup": "fixed-dedup",
                "severity": "INFO",
                "alert_context": None,
            },
        )
        self.assertTrue(title_fails["traceback"].startswith("Traceback (most recent call last):\n"))
        self.assertIn('title_raises.py", line 6, in title', title_fails["traceback"])
        self.assertNotIn("testing.py", title_fails["traceback"])
        self.assertEqual(
            (title_fails_false["passed"], title_fails_false["error"]),
            (False, "rule() returned True, expected False"),
        )

        [context_fails] = self.run_test(2, 1, [case("alert_context returns a list", True)])
        self.assertEqual(
            context_fails,
            {
                "name": "alert_context returns a list",
                "expected": True,
                "matched": True,
                "passed": False,
                "error": "ReturnTypeError: alert_context() returned list, expected dict",
                "traceback": "",
                "title": "fine title",
                "dedup": "BadContext",
                "severity": "LOW",
                "alert_context": None,
            },
        )

        [raises_true, raises_false] = self.run_test(
            3, 4, [case("rule raises", True), case("rule raises, no match expected", False)]
        )
        for result in (raises_true, raises_false):
            self.assertEqual(result["matched"], None)
            self.assertFalse(result["passed"])
            self.assertEqual(result["error"], "rule() raised ZeroDivisionError: division by zero")
            self.assertIn('rule_raises.py", line 2, in rule', result["traceback"])

    def test_mocks_apply_to_their_case_only(self):
        files = write_files(self.tmp.name, {"counts_failures.py": COUNTS_FAILURES})
        self.init([rule_spec(3, "CountsFailures", files["counts_failures.py"])])
        ten = [{"name": "get_counter", "return_value": 10}]
        results = self.run_test(
            4,
            3,
            [
                case("ten failures", True, mocks=ten),
                case("real counter: no failures yet", False),
                case("nine failures", False, mocks=[{"name": "get_counter", "return_value": 9}]),
                case("mocked threshold", True, mocks=[{"name": "THRESHOLD", "return_value": 0}, *ten]),
                case("misspelt mock", True, mocks=[*ten, {"name": "get_countr", "return_value": 10}]),
                case("real counter again", False),
                # A mock of one of the rule's own functions replaces it for that case.
                case("mocked title", True, mocks=[*ten, {"name": "title", "return_value": "Mocked"}]),
                case("mocked title returning a number", True, mocks=[*ten, {"name": "title", "return_value": 3}]),
                case("mocked rule", True, mocks=[{"name": "rule", "return_value": 1}]),
            ],
        )
        summary = [(r["name"], r["matched"], r["passed"], r["error"], r["title"]) for r in results]
        self.assertEqual(
            summary,
            [
                ("ten failures", True, True, None, "Too many failures"),
                ("real counter: no failures yet", False, True, None, None),
                ("nine failures", False, True, None, None),
                # THRESHOLD became a MagicMock: comparing an int with it raises.
                (
                    "mocked threshold",
                    None,
                    False,
                    "rule() raised TypeError: '>=' not supported between instances of 'int' and 'MagicMock'",
                    None,
                ),
                (
                    "misspelt mock",
                    None,
                    False,
                    "AttributeError: cannot mock 'get_countr': the rule module has no attribute 'get_countr'",
                    None,
                ),
                ("real counter again", False, True, None, None),
                ("mocked title", True, True, None, "Mocked"),
                (
                    "mocked title returning a number",
                    True,
                    False,
                    "ReturnTypeError: title() returned int, expected str",
                    "CountsFailures",
                ),
                ("mocked rule", True, True, None, "Too many failures"),
            ],
        )
        self.assertEqual(results[4]["traceback"], "")

        # Every mock is undone: a batch sees the real functions, and inspect the real names.
        self.worker.send({"type": "batch", "id": 5, "sets": [[3]], "events": [[0, STOP_LOGGING, 0, None]]})
        results = self.worker.receive()
        self.assertEqual((results["matches"], results["errors"]), ([], []))
        self.worker.send({"type": "inspect"})
        self.assertEqual(
            self.worker.receive(),
            {"type": "inspection", "rules": {"3": ["get_counter", "THRESHOLD", "rule", "title"]}},
        )

    def test_rule_that_failed_to_import(self):
        files = write_files(self.tmp.name, {"broken.py": "import missing_cloud_sdk\n\ndef rule(event):\n    return True\n"})
        self.init([rule_spec(6, "Broken", files["broken.py"])])
        [result] = self.run_test(9, 6, [case("never runs", True)])
        self.assertEqual(
            without_traceback(result),
            {
                "name": "never runs",
                "expected": True,
                "matched": None,
                "passed": False,
                "error": "the rule failed to import: ModuleNotFoundError: No module named 'missing_cloud_sdk'",
                "title": None,
                "dedup": None,
                "severity": None,
                "alert_context": None,
            },
        )
        self.assertIn('broken.py", line 1, in <module>', result["traceback"])

    def test_progress_record_names_a_case_that_kills_the_worker(self):
        files = write_files(self.tmp.name, {"dies.py": DIES})
        self.init([rule_spec(8, "Dies", files["dies.py"])])
        self.worker.send(
            {
                "type": "test",
                "id": 12,
                "rule": 8,
                "cases": [case("fine", False), case("fine again", False), case("dies", False, CONSOLE_LOGIN)],
            }
        )
        self.assertIsNone(self.worker.receive())
        self.assertEqual(self.worker.proc.wait(30), 5)
        self.assertEqual(self.worker.progress(), (12, 2, 8))

    def test_unknown_rule_index_is_a_protocol_error(self):
        self.init([])
        self.worker.send({"type": "test", "id": 1, "rule": 0, "cases": []})
        self.assertIsNone(self.worker.receive())
        status, _, stderr = self.worker.finish()
        self.assertEqual(status, 2)
        self.assertIn("ProtocolError: test 1 names unknown rule index 0", stderr)

    def test_malformed_case_is_a_protocol_error(self):
        files = write_files(self.tmp.name, {"fine.py": "def rule(event):\n    return True\n"})
        self.init([rule_spec(0, "Fine", files["fine.py"])])
        self.worker.send({"type": "test", "id": 1, "rule": 0, "cases": [{"name": "x", "expected": "yes", "event": {}}]})
        self.assertIsNone(self.worker.receive())
        status, _, stderr = self.worker.finish()
        self.assertEqual(status, 2)
        self.assertIn("ProtocolError: test 1, case 0: expected must be true or false", stderr)


class InspectMessage(WorkerTestCase):
    def test_public_names_of_each_imported_rule(self):
        files = write_files(
            self.tmp.name,
            {
                "root_activity.py": ROOT_ACTIVITY,
                "counts_failures.py": COUNTS_FAILURES,
                "broken.py": "def rule(event)\n    return True\n",
            },
        )
        ready = self.init(
            [
                rule_spec(0, "Root", files["root_activity.py"], kind="panther"),
                rule_spec(5, "Broken", files["broken.py"]),
                rule_spec(3, "Counts", files["counts_failures.py"]),
            ]
        )
        self.assertEqual([e["index"] for e in ready["import_errors"]], [5])
        self.worker.send({"type": "inspect"})
        self.assertEqual(
            self.worker.receive(),
            {
                "type": "inspection",
                "rules": {
                    "0": ["rule", "title", "dedup", "severity", "alert_context"],
                    "3": ["get_counter", "THRESHOLD", "rule", "title"],
                },
            },
        )
        # The worker goes on serving batches afterwards.
        self.worker.send({"type": "batch", "id": 1, "sets": [[0, 3]], "events": [[0, STOP_LOGGING, 0, None]]})
        self.assertEqual([m["rule"] for m in self.worker.receive()["matches"]], [0])


if __name__ == "__main__":
    unittest.main()
