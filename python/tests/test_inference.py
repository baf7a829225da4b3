"""Tests of prefilter inference (iota_runtime.inference): the conditions read from many rule
styles, the cases where nothing may be inferred, and a soundness check: on every event a rule
matches, the inferred condition is not false under the evaluation rules of
docs/WORKER_PROTOCOL.md ("Prefilters"), whichever way an evaluator resolves the choices
those rules leave open."""

import gzip
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

from iota_runtime.event import PantherEvent
from iota_runtime.inference import infer, infer_file

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(PYTHON_DIR)
SAMPLES = os.path.join(ROOT, "samples", "cloudtrail-stratus")
GENERATOR = os.path.join(ROOT, "scripts", "gen-synthetic-rules")


def inferred(source):
    return infer(textwrap.dedent(source))


def eq(key, value):
    return {"key": key if isinstance(key, list) else [key], "equals": value}


def among(key, *values):
    return {"key": key if isinstance(key, list) else [key], "in": list(values)}


NAME, SOURCE = "eventName", "eventSource"


class GuardStyles(unittest.TestCase):
    def test_leading_guard_with_each_kind_of_constant(self):
        for literal in (
            '("StopLogging", "DeleteTrail")',
            '{"StopLogging", "DeleteTrail"}',
            '["StopLogging", "DeleteTrail"]',
            'frozenset({"StopLogging", "DeleteTrail"})',
            'frozenset(["StopLogging", "DeleteTrail"])',
            'set(("StopLogging", "DeleteTrail"))',
        ):
            with self.subTest(literal=literal):
                source = f"""
                    NAMES = {literal}


                    def rule(event):
                        if event.get("eventName") not in NAMES:
                            return False
                        return True
                """
                self.assertEqual(inferred(source), among(NAME, "DeleteTrail", "StopLogging"))

    def test_annotated_constant_and_inline_literals(self):
        source = """
            NAMES: frozenset = frozenset({"A", "B"})


            def rule(event):
                if event.get("eventName") not in NAMES:
                    return False
                if event.get("eventSource") not in ("s3.amazonaws.com",):
                    return False
                return event.get("awsRegion") in {"us-east-1", "eu-west-1"}
        """
        self.assertEqual(
            inferred(source),
            {
                "all": [
                    among(NAME, "A", "B"),
                    eq(SOURCE, "s3.amazonaws.com"),
                    among("awsRegion", "eu-west-1", "us-east-1"),
                ]
            },
        )

    def test_not_equal_guards_and_falsy_returns(self):
        source = '''
            """Module docstring."""


            def rule(event):
                """Rule docstring."""
                if event.get("eventSource") != "iam.amazonaws.com":
                    return None
                if event.get("eventName") != "CreateUser" and event.get("eventName") != "DeleteUser":
                    return
                if event.get("errorCode") == "AccessDenied":
                    return 0
                return True
        '''
        self.assertEqual(
            inferred(source),
            {
                "all": [
                    eq(SOURCE, "iam.amazonaws.com"),
                    among(NAME, "CreateUser", "DeleteUser"),
                    {"not": eq("errorCode", "AccessDenied")},
                ]
            },
        )

    def test_if_not_guard(self):
        source = """
            def rule(event):
                if not (event.get("eventSource") == "s3.amazonaws.com" and event.get("eventName") in ("PutBucketPolicy", "DeleteBucketPolicy")):
                    return False
                return True
        """
        self.assertEqual(
            inferred(source),
            {"all": [eq(SOURCE, "s3.amazonaws.com"), among(NAME, "DeleteBucketPolicy", "PutBucketPolicy")]},
        )

    def test_guard_with_or_gives_every_alternative(self):
        source = """
            def rule(event):
                if event.get("eventSource") != "ec2.amazonaws.com" or event.get("eventName") not in ("RunInstances",):
                    return False
                return True
        """
        self.assertEqual(inferred(source), {"all": [eq(SOURCE, "ec2.amazonaws.com"), eq(NAME, "RunInstances")]})

    def test_return_and_uses_every_pure_conjunct(self):
        source = """
            from helpers import is_admin

            EVENTS = {"AttachUserPolicy", "AttachRolePolicy"}


            def rule(event):
                return (
                    event.get("eventSource") == "iam.amazonaws.com"
                    and event.get("eventName") in EVENTS
                    and event.deep_get("requestParameters", "policyArn") == "arn:aws:iam::aws:policy/AdministratorAccess"
                    and is_admin(event)
                    and event.get("errorCode") is None
                )
        """
        self.assertEqual(
            inferred(source),
            {
                "all": [
                    eq(SOURCE, "iam.amazonaws.com"),
                    among(NAME, "AttachRolePolicy", "AttachUserPolicy"),
                    eq(["requestParameters", "policyArn"], "arn:aws:iam::aws:policy/AdministratorAccess"),
                ]
            },
        )

    def test_single_comparison_return_and_any_parameter_name(self):
        self.assertEqual(
            inferred('def rule(e):\n    return e.get("eventName") == "ConsoleLogin"\n'),
            eq(NAME, "ConsoleLogin"),
        )
        self.assertEqual(
            inferred('def rule(record):\n    return record["eventName"] != "ConsoleLogin"\n'),
            {"not": eq(NAME, "ConsoleLogin")},
        )

    def test_or_of_equalities_becomes_one_membership(self):
        source = """
            def rule(event):
                return event.get("eventName") == "StopLogging" or event.get("eventName") == "DeleteTrail"
        """
        self.assertEqual(inferred(source), among(NAME, "DeleteTrail", "StopLogging"))

    def test_local_variable_from_event_get(self):
        source = """
            WATCHED = {"GetSecretValue", "BatchGetSecretValue"}


            def rule(event):
                name = event.get("eventName")
                source: str = event.get("eventSource", "")
                if source != "secretsmanager.amazonaws.com":
                    return False
                if name not in WATCHED:
                    return False
                return True
        """
        self.assertEqual(
            inferred(source),
            {"all": [eq(SOURCE, "secretsmanager.amazonaws.com"), among(NAME, "BatchGetSecretValue", "GetSecretValue")]},
        )

    def test_local_variable_reassigned_before_the_guard(self):
        lowered = """
            def rule(event):
                name = event.get("eventName")
                name = name.lower()
                if name != "stoplogging":
                    return False
                return True
        """
        self.assertIsNone(inferred(lowered))
        computed = """
            def rule(event):
                name = event.get("eventName")
                name = normalise(name)
                if name != "StopLogging":
                    return False
                return True
        """
        self.assertIsNone(inferred(computed))
        # A later reassignment does not matter: the guard ran before it.
        later = """
            def rule(event):
                name = event.get("eventName")
                if name != "StopLogging":
                    return False
                name = "other"
                return name == "other"
        """
        self.assertEqual(inferred(later), eq(NAME, "StopLogging"))

    def test_nested_keys(self):
        source = """
            def rule(event):
                if event.deep_get("userIdentity", "type") != "Root":
                    return False
                if event.get("requestParameters", {}).get("bucketName") is None:
                    return False
                if not event["additionalEventData"]["MFAUsed"] == "No":
                    return False
                return event.deep_get("userIdentity", "invokedBy") is None
        """
        self.assertEqual(
            inferred(source),
            {
                "all": [
                    eq(["userIdentity", "type"], "Root"),
                    {"key": ["requestParameters", "bucketName"], "exists": True},
                    eq(["additionalEventData", "MFAUsed"], "No"),
                ]
            },
        )

    def test_startswith_and_truthiness(self):
        source = """
            def rule(event):
                if not event.get("eventName", "").startswith(("Describe", "List")):
                    return False
                if not event.get("errorCode"):
                    return False
                return bool(event.get("sourceIPAddress", "").startswith("198.51.100."))
        """
        self.assertEqual(
            inferred(source),
            {
                "all": [
                    {"any": [{"key": [NAME], "startswith": "Describe"}, {"key": [NAME], "startswith": "List"}]},
                    {"key": ["errorCode"], "exists": True},
                    {"key": ["sourceIPAddress"], "startswith": "198.51.100."},
                ]
            },
        )

    def test_string_constant(self):
        source = """
            TRAIL_EVENT = "StopLogging"


            def rule(event):
                return event.get("eventName") == TRAIL_EVENT
        """
        self.assertEqual(inferred(source), eq(NAME, "StopLogging"))

    def test_a_mutable_constant_only_read_elsewhere_stays_usable(self):
        source = """
            NAMES = {"CreateUser", "DeleteUser"}


            def rule(event):
                return event.get("eventName") in NAMES


            def title(event):
                watched = [n for n in NAMES if n.startswith("Create")]
                return f"{event.get('eventName')} ({len(watched)})"
        """
        self.assertEqual(inferred(source), among(NAME, "CreateUser", "DeleteUser"))


class NothingToInfer(unittest.TestCase):
    def assertNothing(self, source):
        self.assertIsNone(inferred(source))

    def test_constant_reassigned(self):
        self.assertNothing(
            """
            NAMES = {"A"}
            NAMES = {"A", "B"}


            def rule(event):
                return event.get("eventName") in NAMES
            """
        )
        self.assertNothing(
            """
            NAMES = {"A"}


            def rule(event):
                return event.get("eventName") in NAMES


            def reconfigure():
                global NAMES
                NAMES = {"B"}
            """
        )
        self.assertNothing(
            """
            NAMES = ("A",)
            NAMES += ("B",)


            def rule(event):
                return event.get("eventName") in NAMES
            """
        )

    def test_constant_mutated(self):
        for mutation in (
            'NAMES.add("B")',
            'NAMES.update({"B"})',
            "NAMES.clear()",
            'NAMES.discard("A")',
            "remember(NAMES)",
            "ALIAS = NAMES",
        ):
            with self.subTest(mutation=mutation):
                self.assertNothing(
                    f"""
                    NAMES = {{"A"}}


                    def rule(event):
                        return event.get("eventName") in NAMES


                    def title(event):
                        {mutation}
                        return "t"
                    """
                )
        for mutation in ('NAMES.append("B")', 'NAMES.extend(["B"])', "NAMES[0] = 'B'", "NAMES.pop()", "del NAMES[0]"):
            with self.subTest(mutation=mutation):
                self.assertNothing(
                    f"""
                    NAMES = ["A"]
                    {mutation}


                    def rule(event):
                        return event.get("eventName") in NAMES
                    """
                )

    def test_side_effect_on_the_left_of_the_and(self):
        self.assertNothing(
            """
            from panther_detection_helpers.caching import increment_counter


            def rule(event):
                return increment_counter("seen") > 5 and event.get("eventName") == "ConsoleLogin"
            """
        )

    def test_guard_after_a_side_effecting_statement(self):
        self.assertNothing(
            """
            SEEN = []


            def rule(event):
                SEEN.append(event.get("eventID"))
                if event.get("eventName") != "ConsoleLogin":
                    return False
                return True
            """
        )
        self.assertNothing(
            """
            def rule(event):
                print(event)
                if event.get("eventName") != "ConsoleLogin":
                    return False
                return True
            """
        )

    def test_rule_calling_a_helper(self):
        self.assertNothing(
            """
            from panther_base_helpers import aws_cloudtrail_success


            def rule(event):
                if not aws_cloudtrail_success(event):
                    return False
                return event.get("eventName") == "ConsoleLogin"
            """
        )
        self.assertNothing(
            """
            def _watched(event):
                return event.get("eventName") == "ConsoleLogin"


            def rule(event):
                return _watched(event)
            """
        )

    def test_rule_only_inside_a_class_or_a_function(self):
        self.assertNothing(
            """
            class Detector:
                def rule(self, event):
                    return event.get("eventName") == "ConsoleLogin"
            """
        )
        self.assertNothing(
            """
            def make():
                def rule(event):
                    return event.get("eventName") == "ConsoleLogin"
                return rule


            rule = make()
            """
        )

    def test_syntax_error_and_no_rule(self):
        self.assertNothing("def rule(event)\n    return True\n")
        self.assertNothing("def title(event):\n    return 'x'\n")
        self.assertIsNone(infer(b"\xff\xfe not utf-8 \x00"))

    def test_rebound_or_decorated_rule(self):
        self.assertNothing(
            """
            import functools


            @functools.lru_cache
            def rule(event):
                return event.get("eventName") == "ConsoleLogin"
            """
        )
        self.assertNothing(
            """
            def rule(event):
                return event.get("eventName") == "ConsoleLogin"


            rule = wrap(rule)
            """
        )

    def test_dynamic_modules(self):
        for line in ("from helpers import *", 'globals()["NAMES"] = {"B"}', 'setattr(sys.modules[__name__], "NAMES", {"B"})'):
            with self.subTest(line=line):
                self.assertNothing(
                    f"""
                    import sys
                    {line}

                    NAMES = {{"A"}}


                    def rule(event):
                        return event.get("eventName") in NAMES
                    """
                )

    def test_constant_shadowed_by_a_local(self):
        self.assertNothing(
            """
            NAMES = {"A"}


            def rule(event):
                if event.get("eventName") not in NAMES:
                    return False
                NAMES = {"B"}
                return True
            """
        )

    def test_comparisons_the_condition_language_cannot_state(self):
        for condition in (
            'event.get("eventName", "StopLogging") == "StopLogging"',  # a missing key matches
            'event.get("eventName", "A") in ("A", "B")',
            'event.get("eventName", "Describe").startswith("Desc")',
            'event.get("eventName", "x")',
            'event.get("count") == 1',  # True == 1 in Python
            'event.get("eventName") in ("A", 1)',
            'event.get("eventName") in "StopLogging"',  # a substring test
            'event.get("eventName") == event.get("eventSource")',
            '"Stop" in event.get("eventName")',
            'event.get("a") == "x" == event.get("b")',
            'event.get("eventName").lower() == "stoplogging"',
            'event.get("a", {"b": "x"}).get("b") == "x"',
            'event.udm("actor") == "root"',
        ):
            with self.subTest(condition=condition):
                self.assertNothing(f"def rule(event):\n    return {condition}\n")

    def test_frozenset_not_the_builtin(self):
        self.assertNothing(
            """
            from collections import Counter as frozenset

            NAMES = frozenset(["A"])


            def rule(event):
                return event.get("eventName") in NAMES
            """
        )

    def test_guard_returning_true_ends_the_run(self):
        source = """
            def rule(event):
                if event.deep_get("userIdentity", "type") == "Root":
                    return True
                if event.get("eventName") != "ConsoleLogin":
                    return False
                return True
        """
        self.assertNothing(source)


def _load_rule(source, name):
    namespace = {"__name__": name}
    exec(compile(source, name, "exec"), namespace)
    return namespace["rule"]


_MISSING = object()
_UNSEEN = object()  # a key path that steps into an array
MAYBE = "maybe"


def _lookup(event, key):
    value = event
    for step in key:
        if isinstance(value, list):
            return _UNSEEN
        if not isinstance(value, dict):
            return _MISSING
        if step in value:
            value = value[step]
            continue
        for candidate in value:
            if isinstance(candidate, str) and candidate.lower() == step.lower():
                value = value[candidate]
                break
        else:
            return _MISSING
    return value


def evaluate(cond, event, container_result, null_exists):
    """The protocol's three-valued evaluation; `container_result` (MAYBE or False) and
    `null_exists` are the choices it leaves to the evaluator."""
    if "all" in cond:
        results = [evaluate(c, event, container_result, null_exists) for c in cond["all"]]
        return False if False in results else (True if all(r is True for r in results) else MAYBE)
    if "any" in cond:
        results = [evaluate(c, event, container_result, null_exists) for c in cond["any"]]
        return True if True in results else (False if all(r is False for r in results) else MAYBE)
    if "not" in cond:
        result = evaluate(cond["not"], event, container_result, null_exists)
        return MAYBE if result == MAYBE else not result
    value = _lookup(event, cond["key"])
    if value is _UNSEEN:
        return MAYBE
    if "exists" in cond:
        return False if value is _MISSING else (null_exists if value is None else True)
    if isinstance(value, (dict, list)):
        return container_result
    if not isinstance(value, str):
        return False
    if "equals" in cond:
        return value == cond["equals"]
    if "in" in cond:
        return value in cond["in"]
    return value.startswith(cond["startswith"])


EVALUATORS = list(itertools.product((MAYBE, False), (True, False)))


class Soundness(unittest.TestCase):
    def assertSound(self, source, events, name):
        """Every event the rule matches passes its inferred condition, under every evaluator."""
        cond = infer(source)
        if cond is None:
            return 0
        rule = _load_rule(source, name)
        matched = 0
        for event in events:
            try:
                hit = rule(PantherEvent(event))
            except Exception:
                continue
            if not hit:
                continue
            matched += 1
            for container_result, null_exists in EVALUATORS:
                self.assertIsNot(
                    evaluate(cond, event, container_result, null_exists),
                    False,
                    f"{name} matched an event its condition rejects\ncondition: {json.dumps(cond)}\n"
                    f"event: {json.dumps(event)}\nsource:\n{source}",
                )
        return matched

    def test_random_rules_on_random_events(self):
        rng = random.Random(7)
        values = [None, "A", "B", "Describe", "", 0, 1, True, False, [], ["A"], {}, {"j": "A"}, {"j": None}, [{"j": "A"}]]
        events = []
        for _ in range(300):
            event = {}
            for key in ("eventName", "k"):
                choice = rng.randrange(len(values) + 2)
                spelled = key if rng.random() < 0.8 else key.upper()
                if choice < len(values):
                    event[spelled] = values[choice]
                elif choice == len(values):
                    event[spelled] = {"j": rng.choice(values)}
            events.append(event)
        matched = 0
        for number in range(400):
            source = _random_rule(rng)
            matched += self.assertSound(source, events, f"random_rule_{number}")
        self.assertGreater(matched, 500)  # the check is not vacuous

    @unittest.skipUnless(os.path.isdir(SAMPLES) and os.path.exists(GENERATOR), "needs samples/ and scripts/")
    def test_synthetic_pack_on_real_events(self):
        events = []
        for directory, _, files in os.walk(SAMPLES):
            for name in sorted(files):
                if name.endswith(".json.gz"):
                    with gzip.open(os.path.join(directory, name)) as handle:
                        events.extend(json.load(handle)["Records"])
        # Variants a prefilter must not misjudge: keys in another case, nulls, missing keys.
        variants = []
        for event in events[::7]:
            variants.append({k.upper() if k in ("eventName", "errorCode") else k: v for k, v in event.items()})
            variants.append(dict(event, errorCode=None, sourceIPAddress=None))
            variants.append({k: v for k, v in event.items() if k not in ("userIdentity", "requestParameters")})
        with tempfile.TemporaryDirectory() as out:
            subprocess.run(
                [sys.executable, GENERATOR, out, "--count", "200", "--seed", "1"], check=True, capture_output=True
            )
            paths = sorted(os.path.join(out, name) for name in os.listdir(out))
            self.assertEqual(len(paths), 200)
            started = time.perf_counter()
            conds = [infer_file(path) for path in paths]
            per_rule = (time.perf_counter() - started) / len(paths)
            self.assertLess(per_rule, 0.005, "inference must stay within a few ms per rule")
            sources = {}
            for path in paths:
                with open(path, encoding="utf-8") as handle:
                    sources[path] = handle.read()
        without = [p for p, c in zip(paths, conds) if c is None]
        self.assertEqual(len(without), 10, without)  # the 5% that hide their checks in a helper
        self.assertTrue(all("_watched" in sources[p] for p in without))
        matched = 0
        for path, source in sources.items():
            matched += self.assertSound(source, events + variants, os.path.basename(path))
        self.assertGreater(matched, 100)


def _random_rule(rng):
    """A rule built from the guard styles inference reads, with random details."""
    keys = ['"eventName"', '"k"']

    def value():
        key = rng.choice(keys)
        return rng.choice(
            (
                f"event.get({key})",
                f'event.get({key}, "")',
                f'event.get({key}, "A")',
                f"event.get({key}, {{}}).get(\"j\")",
                f'event.deep_get({key}, "j")',
                f'event.deep_get({key}, "j", default="A")',
                f"event[{key}]",
                "name",
            )
        )

    def atom():
        v = value()
        return rng.choice(
            (
                f'{v} == "A"',
                f'"B" == {v}',
                f'{v} != "A"',
                f"{v} in NAMES",
                f"{v} not in NAMES",
                f'{v} in ("A",)',
                f"{v} in ()",
                f"{v} not in MIXED",
                f'{v}.startswith("Desc")',
                f'{v}.startswith(("A", "Desc"))',
                v,
                f"not {v}",
                f"{v} is None",
                f"{v} is not None",
                f"{v} == 1",
                f"bool({v})",
            )
        )

    def expression(depth):
        if depth == 0 or rng.random() < 0.4:
            return atom()
        kind = rng.choice(("and", "or", "not"))
        if kind == "not":
            return f"not ({expression(depth - 1)})"
        return f" {kind} ".join(f"({expression(depth - 1)})" for _ in range(rng.randint(2, 3)))

    lines = ['NAMES = {"A", "Describe"}', 'MIXED = ("A", 1)', "", "", "def rule(event):", '    name = event.get("eventName")']
    for _ in range(rng.randint(0, 3)):
        lines += [f"    if {expression(2)}:", f"        return {rng.choice(('False', 'None', '0', ''))}"]
    lines.append(f"    return {expression(2)}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    unittest.main()
