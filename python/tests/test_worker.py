"""End-to-end tests of the rule worker: a real `python3 -I -B -c <bootstrap>` process with the
protocol on fds 3/4 and the progress record on fd 5, exactly as iota starts it."""

import fcntl
import json
import os
import select
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROTOCOL_DOC = os.path.join(os.path.dirname(PYTHON_DIR), "docs", "WORKER_PROTOCOL.md")
BOOTSTRAP = (
    "import sys; sys.path.insert(0, sys.argv[1]); from iota_runtime.worker import main; main()"
)
# What iota passes through its scrubbed environment.
ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "TZ": "UTC", "HOME": "/nonexistent"}
TIMEOUT = 30


class WorkerProcess:
    """A worker process and the parent's ends of its descriptors."""

    def __init__(self):
        request_read, self.request_write = os.pipe()
        self.response_read, response_write = os.pipe()
        self.progress_file = tempfile.TemporaryFile()
        self.progress_file.write(bytes(16))
        self.progress_file.flush()
        sources = (request_read, response_write, self.progress_file.fileno())

        def place_descriptors():
            # Copy the sources above 5 first: dup2 onto a number that is itself a source (or
            # dup2(fd, fd), which leaves close-on-exec set) would lose a descriptor. The
            # copies are close-on-exec; dup2 makes 3, 4 and 5 inheritable.
            copies = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in sources]
            for target, fd in zip((3, 4, 5), copies):
                os.dup2(fd, target)

        # close_fds=False: with close_fds (which pass_fds implies) subprocess closes every
        # descriptor not in pass_fds *after* preexec_fn, so 3-5 would not survive. Python's
        # own descriptors are close-on-exec, so nothing else leaks into the worker.
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-B", "-c", BOOTSTRAP, PYTHON_DIR],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            close_fds=False,
            preexec_fn=place_descriptors,
            start_new_session=True,
            env=ENV,
        )
        os.close(request_read)
        os.close(response_write)

    def send(self, message):
        payload = json.dumps(message).encode("utf-8")
        os.write(self.request_write, struct.pack("<I", len(payload)) + payload)

    def _read(self, size, deadline):
        data = b""
        while len(data) < size:
            ready, _, _ = select.select([self.response_read], [], [], max(0, deadline - time.monotonic()))
            if not ready:
                raise AssertionError("timed out waiting for the worker")
            chunk = os.read(self.response_read, size - len(data))
            if not chunk:
                return data
            data += chunk
        return data

    def receive(self):
        """The next response message, or None when the worker closed fd 4."""
        deadline = time.monotonic() + TIMEOUT
        header = self._read(4, deadline)
        if not header:
            return None
        (size,) = struct.unpack("<I", header)
        return json.loads(self._read(size, deadline))

    def progress(self):
        self.progress_file.seek(0)
        return struct.unpack("<Qii", self.progress_file.read(16))

    def finish(self):
        """Close the request pipe; (exit status, stdout, stderr) once the worker has exited."""
        self._close_requests()
        stdout, stderr = self.proc.communicate(timeout=TIMEOUT)
        return self.proc.returncode, stdout.decode(), stderr.decode()

    def _close_requests(self):
        if self.request_write is not None:
            os.close(self.request_write)
            self.request_write = None

    def close(self):
        """Kill the worker if it still runs and release every parent-side resource."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.communicate(timeout=TIMEOUT)
        self._close_requests()
        os.close(self.response_read)
        self.progress_file.close()


RULES = {
    "plain_stop.py": """
        def rule(event):
            return event.get("eventName") == "StopLogging"
    """,
    "panther_root.py": """
        from panther_core import PantherEvent


        def rule(event: PantherEvent):
            return event.deep_get("userIdentity", "type") == "Root"


        def title(event):
            return f"Root called {event.get('eventName')}"


        def dedup(event):
            return event.deep_get("userIdentity", "arn")


        def severity(event):
            return "DEFAULT"


        def alert_context(event):
            return {"eventName": event.get("eventName"), "identity": event.get("userIdentity")}
    """,
    "raises.py": """
        def rule(event):
            return event["missingField"] == 1
    """,
    "syntax_error.py": """
        def rule(event)
            return True
    """,
    "printer.py": """
        import os
        import sys


        def rule(event):
            print("printed by rule", event.get("eventName"))
            sys.stdout.write("written to sys.stdout\\n")
            os.write(1, b"written to fd 1\\n")
            return event.get("eventName") == "ConsoleLogin"


        def title(event):
            print("printed by title")
            return "Console login by " + event.deep_get("userIdentity", "userName")
    """,
    "needs_sdk.py": """
        import missing_cloud_sdk


        def rule(event):
            return True
    """,
    "exits.py": """
        import sys


        def rule(event):
            if event.get("eventName") == "StopLogging":
                sys.exit(3)
            return False
    """,
    "no_rule_function.py": """
        def title(event):
            return "never used"
    """,
}

STOP_LOGGING = {
    "eventName": "StopLogging",
    "eventSource": "cloudtrail.amazonaws.com",
    "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111122223333:root"},
    "p_log_type": "AWS.CloudTrail",
    "p_event_time": "2024-03-01 12:00:00.000000",
}
CONSOLE_LOGIN = {
    "eventName": "ConsoleLogin",
    "eventSource": "signin.amazonaws.com",
    "userIdentity": {"type": "IAMUser", "userName": "alice", "arn": "arn:aws:iam::111122223333:user/alice"},
    "p_log_type": "AWS.CloudTrail",
    "p_event_time": "2024-03-01 12:00:01.000000",
}


def write_files(directory, files):
    paths = {}
    for name, source in files.items():
        path = os.path.join(directory, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(textwrap.dedent(source).lstrip())
        paths[name] = path
    return paths


def rule_spec(index, rule_id, path, kind="plain", **extra):
    spec = {"index": index, "id": rule_id, "file": path, "kind": kind, "severity": "INFO"}
    spec.update(extra)
    return spec


class WorkerTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.worker = WorkerProcess()
        self.addCleanup(self.worker.close)

    def init(self, rules, data_models=(), paths=None, max_string_length=1000, describe_once=False):
        self.worker.send(
            {
                "type": "init",
                "paths": [self.tmp.name] if paths is None else paths,
                "max_string_length": max_string_length,
                "describe_once": describe_once,
                "rules": rules,
                "data_models": list(data_models),
            }
        )
        ready = self.worker.receive()
        self.assertEqual(ready["type"], "ready", ready)
        return ready


class Bootstrap(unittest.TestCase):
    def test_bootstrap_matches_the_protocol_document(self):
        if not os.path.exists(PROTOCOL_DOC):
            self.skipTest("docs/WORKER_PROTOCOL.md is not beside this python/ tree")
        with open(PROTOCOL_DOC, encoding="utf-8") as handle:
            self.assertIn(f'python3 -I -B -c "{BOOTSTRAP}" <runtime-dir>', handle.read())


class FullBatch(WorkerTestCase):
    def test_init_batch_and_shutdown(self):
        files = write_files(self.tmp.name, RULES)
        ready = self.init(
            [
                rule_spec(0, "Plain.StopLogging", files["plain_stop.py"], severity=None),
                rule_spec(
                    1,
                    "AWS.Root.Activity",
                    files["panther_root.py"],
                    kind="panther",
                    severity="high",
                    display_name="Root activity",
                ),
                rule_spec(2, "Raises", files["raises.py"]),
                rule_spec(3, "SyntaxError", files["syntax_error.py"]),
                rule_spec(4, "Printer", files["printer.py"], severity="LOW"),
                rule_spec(5, "NeedsSdk", files["needs_sdk.py"]),
                rule_spec(6, "Exits", files["exits.py"]),
                rule_spec(7, "NoRuleFunction", files["no_rule_function.py"]),
            ]
        )
        self.assertEqual(ready["python"].split(".")[:2], [str(sys.version_info[0]), str(sys.version_info[1])])
        self.assertIn(ready["json"], ("orjson", "json"))
        self.assertEqual(ready["data_model_errors"], [])
        import_errors = {e["index"]: e for e in ready["import_errors"]}
        self.assertEqual(sorted(import_errors), [3, 5, 7])
        # The wording changes between Python versions ("invalid syntax", "expected ':'").
        self.assertTrue(import_errors[3]["error"].startswith("SyntaxError: "), import_errors[3])
        self.assertIn(f'File "{files["syntax_error.py"]}", line 1', import_errors[3]["traceback"])
        self.assertEqual(import_errors[5]["error"], "ModuleNotFoundError: No module named 'missing_cloud_sdk'")
        self.assertIn('needs_sdk.py", line 1, in <module>', import_errors[5]["traceback"])
        self.assertTrue(import_errors[5]["traceback"].startswith("Traceback (most recent call last):\n  File \""))
        self.assertNotIn("importlib", import_errors[5]["traceback"])
        self.assertEqual(
            import_errors[7]["error"], f"ImportError: {files['no_rule_function.py']} defines no rule(event) function"
        )
        self.assertEqual(self.worker.progress(), (0, -1, -1))

        self.worker.send(
            {
                "type": "batch",
                "id": 41,
                "sets": [[0, 1, 2, 3, 4, 5, 6, 7], [0, 1, 2, 4, 6]],
                "events": [[0, STOP_LOGGING, 0, None], [1, CONSOLE_LOGIN, 0, None]],
            }
        )
        results = self.worker.receive()
        self.assertEqual(self.worker.progress(), (41, -1, -1))
        self.assertEqual(results["type"], "results")
        self.assertEqual(results["id"], 41)
        empty = {"description": None, "reference": None, "runbook": None, "destinations": None}

        def described(event, rule, dedup, **details):
            return {"event": event, "rule": rule, "dedup": dedup, "unique": None, "details": dict(empty, **details)}

        self.assertEqual(
            results["matches"],
            [
                described(0, 0, "Plain.StopLogging", title="Plain.StopLogging", severity="INFO", alert_context=None),
                described(
                    0,
                    1,
                    "arn:aws:iam::111122223333:root",
                    title="Root called StopLogging",
                    severity="HIGH",
                    alert_context={"eventName": "StopLogging", "identity": STOP_LOGGING["userIdentity"]},
                ),
                described(1, 4, "Printer", title="Console login by alice", severity="LOW", alert_context=None),
            ],
        )
        errors = results["errors"]
        self.assertEqual(
            [{k: v for k, v in e.items() if k != "traceback"} for e in errors],
            [
                {"event": 0, "rule": 2, "function": "rule", "error": "KeyError: 'missingField'"},
                {"event": 0, "rule": 6, "function": "rule", "error": "SystemExit: 3"},
                {"event": 1, "rule": 2, "function": "rule", "error": "KeyError: 'missingField'"},
            ],
        )
        self.assertTrue(errors[0]["traceback"].startswith("Traceback (most recent call last):\n"))
        self.assertIn('raises.py", line 2, in rule', errors[0]["traceback"])
        self.assertIn('exits.py", line 6, in rule', errors[1]["traceback"])
        self.assertNotIn("worker.py", errors[1]["traceback"])

        # The worker is still healthy after all of that.
        self.worker.send({"type": "batch", "id": 42, "sets": [[0]], "events": [[0, STOP_LOGGING, 0, None]]})
        results = self.worker.receive()
        self.assertEqual((results["id"], len(results["matches"]), results["errors"]), (42, 1, []))
        self.assertEqual(self.worker.progress(), (42, -1, -1))

        self.worker.send({"type": "shutdown"})
        self.assertIsNone(self.worker.receive())
        status, stdout, stderr = self.worker.finish()
        self.assertEqual(status, 0, stderr)
        self.assertIn("printed by rule StopLogging\n", stdout)
        self.assertIn("printed by rule ConsoleLogin\n", stdout)
        self.assertIn("written to sys.stdout\n", stdout)
        self.assertIn("written to fd 1\n", stdout)
        self.assertIn("printed by title\n", stdout)
        # -B: importing the rules wrote no bytecode next to them.
        self.assertEqual([d for d, _, _ in os.walk(self.tmp.name) if d.endswith("__pycache__")], [])


class DyingWorkers(WorkerTestCase):
    def test_os_exit_leaves_the_running_pair_in_the_progress_record(self):
        files = write_files(
            self.tmp.name,
            {
                "fine.py": "def rule(event):\n    return True\n",
                "hard_exit.py": """
                    import os


                    def rule(event):
                        if event.get("eventName") == "ConsoleLogin":
                            os._exit(7)
                        return False
                """,
            },
        )
        self.init([rule_spec(0, "Fine", files["fine.py"]), rule_spec(9, "HardExit", files["hard_exit.py"])])
        self.worker.send(
            {"type": "batch", "id": 77, "sets": [[0, 9]], "events": [[0, STOP_LOGGING, 0, None], [0, CONSOLE_LOGIN, 0, None]]}
        )
        self.assertIsNone(self.worker.receive())
        status, _, _ = self.worker.finish()
        self.assertEqual(status, 7)
        self.assertEqual(self.worker.progress(), (77, 1, 9))

    def test_progress_record_names_a_hanging_rule(self):
        files = write_files(
            self.tmp.name,
            {
                "fine.py": "def rule(event):\n    return False\n",
                "hangs.py": """
                    import time


                    def rule(event):
                        if event.get("eventName") == "ConsoleLogin":
                            time.sleep(60)
                        return False
                """,
            },
        )
        self.init([rule_spec(0, "Fine", files["fine.py"]), rule_spec(3, "Hangs", files["hangs.py"])])
        self.worker.send(
            {
                "type": "batch",
                "id": 5,
                "sets": [[0, 3], [3, 0]],
                "events": [[0, STOP_LOGGING, 0, None], [0, STOP_LOGGING, 0, None], [1, CONSOLE_LOGIN, 0, None], [0, STOP_LOGGING, 0, None]],
            }
        )
        deadline = time.monotonic() + TIMEOUT
        while self.worker.progress() != (5, 2, 3):
            self.assertLess(time.monotonic(), deadline, self.worker.progress())
            time.sleep(0.01)
        os.killpg(self.worker.proc.pid, signal.SIGKILL)
        self.assertEqual(self.worker.proc.wait(TIMEOUT), -signal.SIGKILL)
        self.assertEqual(self.worker.progress(), (5, 2, 3))

    def test_progress_record_names_a_rule_killing_the_worker_at_import(self):
        files = write_files(
            self.tmp.name,
            {
                "fine.py": "def rule(event):\n    return False\n",
                "dies_on_import.py": "import os\nos._exit(9)\n",
            },
        )
        self.worker.send(
            {
                "type": "init",
                "paths": [self.tmp.name],
                "rules": [rule_spec(0, "Fine", files["fine.py"]), rule_spec(12, "Dies", files["dies_on_import.py"])],
                "data_models": [],
            }
        )
        self.assertIsNone(self.worker.receive())
        self.assertEqual(self.worker.proc.wait(TIMEOUT), 9)
        self.assertEqual(self.worker.progress(), (0, -1, 12))


class EarliestMatchDetails(WorkerTestCase):
    def test_only_the_earliest_match_of_each_window_is_described(self):
        files = write_files(
            self.tmp.name,
            {
                "counted.py": """
                    calls = []


                    def rule(event):
                        return True


                    def dedup(event):
                        return event.get("eventName")


                    def title(event):
                        calls.append(event.get("eventID"))
                        return f"title call {len(calls)}"
                """,
            },
        )
        self.init([rule_spec(0, "Counted", files["counted.py"], dedup_period_minutes=60)])
        second = 10**9
        events = [
            (5 * second, "b"),  # later than the two below
            (2 * second, "z"),
            (2 * second, "a"),  # same time as "z", smaller id: the earliest of the hour
            (3700 * second, "c"),  # the next hour: its own window
            (3700 * second, None),  # no id sorts before any id at the same time
        ]
        self.worker.send(
            {
                "type": "batch",
                "id": 1,
                "sets": [[0]],
                "events": [[0, dict(STOP_LOGGING, eventID=i or ""), t, i] for t, i in events],
            }
        )
        results = self.worker.receive()
        self.assertEqual(results["errors"], [])
        self.assertEqual([m["dedup"] for m in results["matches"]], ["StopLogging"] * 5)
        described = {m["event"]: m["details"]["title"] for m in results["matches"] if "details" in m}
        self.assertEqual(sorted(described), [2, 4])
        # title() ran twice in all: only for the two described matches.
        self.assertEqual(sorted(described.values()), ["title call 1", "title call 2"])


    def describe_across_batches(self, describe_once):
        """The titles described for five one-event batches of one rule: a first match, a later
        one in the same window, an earlier one, one at that time with a smaller id, and one in
        the next window."""
        files = write_files(
            self.tmp.name,
            {
                "counted.py": """
                    def rule(event):
                        return True


                    def dedup(event):
                        return event.get("eventName")


                    def title(event):
                        return f"first seen as {event.get('eventID')}"
                """,
            },
        )
        self.init(
            [rule_spec(0, "Counted", files["counted.py"], dedup_period_minutes=60)],
            describe_once=describe_once,
        )
        second = 10**9
        titles = []
        for batch_id, (t, event_id) in enumerate(
            [(10, "b"), (20, "c"), (5, "d"), (5, "a"), (3700, "e")], start=1
        ):
            self.worker.send(
                {
                    "type": "batch",
                    "id": batch_id,
                    "sets": [[0]],
                    "events": [[0, dict(STOP_LOGGING, eventID=event_id), t * second, event_id]],
                }
            )
            results = self.worker.receive()
            self.assertEqual(results["errors"], [])
            (match,) = results["matches"]
            titles.append(match["details"]["title"] if "details" in match else None)
        return titles

    def test_every_batch_describes_its_earliest_match_by_default(self):
        self.assertEqual(
            self.describe_across_batches(describe_once=False),
            ["first seen as b", "first seen as c", "first seen as d", "first seen as a", "first seen as e"],
        )

    def test_describe_once_skips_windows_already_described_at_an_earlier_event(self):
        # "c" comes after "b" in the same window: iota already has an earlier event of it.
        self.assertEqual(
            self.describe_across_batches(describe_once=True),
            ["first seen as b", None, "first seen as d", "first seen as a", "first seen as e"],
        )


class ProtocolEdges(WorkerTestCase):
    def test_end_of_input_exits_cleanly(self):
        files = write_files(self.tmp.name, {"fine.py": "def rule(event):\n    return False\n"})
        self.init([rule_spec(0, "Fine", files["fine.py"])])
        status, _, stderr = self.worker.finish()
        self.assertEqual(status, 0, stderr)

    def test_unknown_message_type_is_a_protocol_error(self):
        self.init([])
        self.worker.send({"type": "reload"})
        self.assertIsNone(self.worker.receive())
        status, _, stderr = self.worker.finish()
        self.assertEqual(status, 2)
        self.assertIn("ProtocolError: unexpected message type 'reload'", stderr)

    def test_unknown_rule_index_is_a_protocol_error(self):
        files = write_files(self.tmp.name, {"fine.py": "def rule(event):\n    return True\n"})
        self.init([rule_spec(0, "Fine", files["fine.py"]), rule_spec(5, "AlsoFine", files["fine.py"])])
        self.worker.send({"type": "batch", "id": 1, "sets": [[5, 0]], "events": [[0, STOP_LOGGING, 0, None]]})
        self.assertEqual([m["rule"] for m in self.worker.receive()["matches"]], [5, 0])
        self.worker.send({"type": "batch", "id": 2, "sets": [[0, 3]], "events": [[0, STOP_LOGGING, 0, None]]})
        self.assertIsNone(self.worker.receive())
        status, _, stderr = self.worker.finish()
        self.assertEqual(status, 2)
        self.assertIn("ProtocolError: batch 2 names unknown rule index 3", stderr)

    def test_first_message_must_be_init(self):
        self.worker.send({"type": "batch", "id": 1, "sets": [], "events": []})
        self.assertIsNone(self.worker.receive())
        status, _, stderr = self.worker.finish()
        self.assertEqual(status, 2)
        self.assertIn("first message must be init", stderr)

    @unittest.skipUnless(os.path.isdir("/proc/self/fd"), "needs /proc")
    def test_processes_started_by_rules_do_not_inherit_the_protocol(self):
        files = write_files(
            self.tmp.name,
            {
                "spawns.py": """
                    import os


                    def rule(event):
                        # The shell is the child: its /proc/self/fd shows what it inherited.
                        return [os.system(f"test -e /proc/self/fd/{fd}") == 0 for fd in (3, 4, 5)]


                    def alert_context(event):
                        return {"inherited": rule(event)}
                """,
                "control.py": """
                    import os


                    def rule(event):
                        return os.system("test -e /proc/self/fd/1") == 0
                """,
            },
        )
        self.init([rule_spec(0, "Spawns", files["spawns.py"]), rule_spec(1, "Control", files["control.py"])])
        self.worker.send({"type": "batch", "id": 1, "sets": [[0, 1]], "events": [[0, STOP_LOGGING, 0, None]]})
        results = self.worker.receive()
        self.assertEqual(results["errors"], [])
        self.assertEqual(
            [(m["rule"], m["details"]["alert_context"]) for m in results["matches"]],
            [(0, {"inherited": [False, False, False]}), (1, None)],
        )

    def test_truncated_frame_is_a_protocol_error(self):
        os.write(self.worker.request_write, struct.pack("<I", 100) + b'{"type"')
        status, _, stderr = self.worker.finish()
        self.assertEqual(status, 2)
        self.assertIn("stream ended inside a frame (7 of 100 bytes)", stderr)


class ModulesAndDataModels(WorkerTestCase):
    def test_clashing_module_names_get_private_names(self):
        files = write_files(
            self.tmp.name,
            {
                "team_a/check.py": "def rule(event):\n    return event.get('eventName') == 'StopLogging'\n",
                "team_b/check.py": "def rule(event):\n    return event.get('eventName') == 'ConsoleLogin'\n",
                # Named like a stdlib module: imported privately, `import json` still works.
                "json.py": "import sys\n\ndef rule(event):\n    return __name__ != 'json' and 'json' in sys.modules\n",
                "uses_json.py": "import json\n\ndef rule(event):\n    return json.loads('[1]') == [1]\n",
            },
        )
        dirs = [os.path.join(self.tmp.name, "team_a"), os.path.join(self.tmp.name, "team_b"), self.tmp.name]
        ready = self.init(
            [
                rule_spec(0, "A", files["team_a/check.py"]),
                rule_spec(1, "B", files["team_b/check.py"]),
                rule_spec(2, "Json", files["json.py"]),
                rule_spec(3, "UsesJson", files["uses_json.py"]),
            ],
            paths=dirs,
        )
        self.assertEqual(ready["import_errors"], [])
        self.worker.send(
            {"type": "batch", "id": 3, "sets": [[0, 1, 2, 3]], "events": [[0, STOP_LOGGING, 0, None], [0, CONSOLE_LOGIN, 0, None]]}
        )
        results = self.worker.receive()
        self.assertEqual(results["errors"], [])
        self.assertEqual(
            [(m["event"], m["rule"]) for m in results["matches"]],
            [(0, 0), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3)],
        )

    def test_data_models_and_helpers(self):
        files = write_files(
            self.tmp.name,
            {
                "helpers/corp_helpers.py": "CORP_NETWORKS = ['10.0.0.0/8']\n",
                "cloudtrail_model.py": """
                    def get_actor(event):
                        return event.deep_get("userIdentity", "userName") or "root"
                """,
                "uses_udm.py": """
                    from corp_helpers import CORP_NETWORKS
                    from iota_helpers import is_ip_in_network
                    from panther_detection_helpers.caching import increment_counter


                    def rule(event):
                        return not is_ip_in_network(event.udm("source_ip"), CORP_NETWORKS)


                    def title(event):
                        return f"{event.udm('actor')} from {event.udm('source_ip')} ({event.udm_path('source_ip')})"


                    def alert_context(event):
                        return {"seen": increment_counter("uses_udm:" + event.udm("actor"))}
                """,
            },
        )
        ready = self.init(
            [rule_spec(0, "UsesUdm", files["uses_udm.py"])],
            data_models=[
                {
                    "id": "Standard.AWS.CloudTrail",
                    "log_types": ["AWS.CloudTrail"],
                    "file": files["cloudtrail_model.py"],
                    "mappings": [
                        {"name": "source_ip", "path": "$.sourceIPAddress"},
                        {"name": "actor", "method": "get_actor"},
                        {"name": "broken", "method": "get_nothing"},
                        {"name": "bad_path", "path": "$..deep"},
                    ],
                }
            ],
            paths=[os.path.join(self.tmp.name, "helpers"), self.tmp.name],
        )
        self.assertEqual(ready["import_errors"], [])
        self.assertEqual(
            [(e["id"], e["error"]) for e in ready["data_model_errors"]],
            [
                ("Standard.AWS.CloudTrail", "ValueError: unsupported data model path '$..deep' at '..deep'"),
                (
                    "Standard.AWS.CloudTrail",
                    "AttributeError: data model has no function 'get_nothing' for field 'broken'",
                ),
            ],
        )
        outside = dict(CONSOLE_LOGIN, sourceIPAddress="198.51.100.9")
        inside = dict(STOP_LOGGING, sourceIPAddress="10.2.3.4")
        hour_later = 3600 * 10**9  # another dedup window: described too
        self.worker.send(
            {
                "type": "batch",
                "id": 8,
                "sets": [[0]],
                "events": [[0, outside, 0, "a"], [0, inside, 0, "b"], [0, outside, hour_later, "c"]],
            }
        )
        results = self.worker.receive()
        self.assertEqual(results["errors"], [])
        self.assertEqual(
            [(m["event"], m["details"]["title"], m["details"]["alert_context"]) for m in results["matches"]],
            [
                (0, "alice from 198.51.100.9 ($.sourceIPAddress)", {"seen": 1}),
                (2, "alice from 198.51.100.9 ($.sourceIPAddress)", {"seen": 2}),
            ],
        )


if __name__ == "__main__":
    unittest.main()
