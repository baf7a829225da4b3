"""Tests of the event object (iota_runtime.event) and of data models behind udm()."""

import copy
import os
import tempfile
import textwrap
import unittest
from collections.abc import Mapping, Sequence

from iota_runtime.datamodel import DataModel, compile_path
from iota_runtime.event import (
    ImmutableCaseInsensitiveDict,
    ImmutableList,
    PantherEvent,
    deep_get,
    deep_walk,
    epoch_seconds,
)
from iota_runtime.loader import import_file
from panther_core import PantherEvent as PantherCoreEvent


def cloudtrail_event():
    return {
        "eventName": "StopLogging",
        "eventSource": "cloudtrail.amazonaws.com",
        "sourceIPAddress": "203.0.113.7",
        "userIdentity": {
            "type": "AssumedRole",
            "arn": "arn:aws:sts::111122223333:assumed-role/Admin/alice",
            "sessionContext": {"sessionIssuer": {"userName": "Admin"}},
        },
        "requestParameters": {"name": "main-trail", "tags": None},
        "resources": [
            {"ARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/main", "type": "Trail"},
            {"ARN": "arn:aws:s3:::logs", "type": "Bucket"},
            {"type": "NoArn"},
        ],
        "p_log_type": "AWS.CloudTrail",
        "p_event_time": "2024-03-01 12:30:45.123456",
    }


class MappingBehaviour(unittest.TestCase):
    def setUp(self):
        self.raw = cloudtrail_event()
        self.event = PantherEvent(self.raw)

    def test_panther_core_exports_the_event_class(self):
        self.assertIs(PantherCoreEvent, PantherEvent)

    def test_exact_key_then_case_insensitive(self):
        self.assertEqual(self.event["eventName"], "StopLogging")
        self.assertEqual(self.event["EVENTNAME"], "StopLogging")
        self.assertEqual(self.event.get("eventname"), "StopLogging")
        self.assertEqual(self.event.get("SourceIpAddress"), "203.0.113.7")

    def test_exact_case_wins_over_other_spellings(self):
        event = PantherEvent({"Name": "upper", "name": "lower"})
        self.assertEqual(event["name"], "lower")
        self.assertEqual(event["Name"], "upper")
        self.assertEqual(event["NAME"], "upper")  # first key in the dict wins on a miss

    def test_missing_keys(self):
        self.assertIsNone(self.event.get("errorCode"))
        self.assertEqual(self.event.get("errorCode", "none"), "none")
        with self.assertRaises(KeyError):
            self.event["errorCode"]  # pylint: disable=pointless-statement
        self.assertIsNone(self.event.get(42))

    def test_in_len_iteration_and_views(self):
        self.assertIn("eventName", self.event)
        self.assertIn("EventName", self.event)
        self.assertNotIn("errorCode", self.event)
        self.assertNotIn(["unhashable"], self.event)
        self.assertEqual(len(self.event), len(self.raw))
        self.assertEqual(list(self.event), list(self.raw))
        self.assertEqual(list(self.event.keys()), list(self.raw))
        items = dict(self.event.items())
        self.assertIsInstance(items["userIdentity"], ImmutableCaseInsensitiveDict)
        self.assertEqual(items["eventName"], "StopLogging")
        self.assertIn("StopLogging", list(self.event.values()))
        self.assertIsInstance(self.event, Mapping)

    def test_nested_values_are_wrapped_lazily_and_case_insensitive(self):
        identity = self.event["userIdentity"]
        self.assertIsInstance(identity, ImmutableCaseInsensitiveDict)
        self.assertEqual(identity["ARN"], self.raw["userIdentity"]["arn"])
        self.assertEqual(identity.get("SESSIONCONTEXT").get("sessionissuer")["USERNAME"], "Admin")
        resources = self.event["resources"]
        self.assertIsInstance(resources, ImmutableList)
        self.assertIsInstance(resources, Sequence)
        self.assertEqual(len(resources), 3)
        self.assertEqual(resources[0]["arn"], "arn:aws:cloudtrail:us-east-1:111122223333:trail/main")
        self.assertEqual(resources[-1]["TYPE"], "NoArn")
        self.assertEqual([r["type"] for r in resources], ["Trail", "Bucket", "NoArn"])
        self.assertIsInstance(resources[0:2], ImmutableList)
        self.assertEqual(len(resources[0:2]), 2)
        self.assertIn({"type": "NoArn"}, resources)
        self.assertEqual(resources.index({"type": "NoArn"}), 2)

    def test_construction_does_not_copy_or_lowercase(self):
        self.assertIs(self.event._d, self.raw)
        with self.assertRaises(AttributeError):
            self.event._lower  # pylint: disable=pointless-statement
        self.event.get("eventName")
        with self.assertRaises(AttributeError):
            self.event._lower  # pylint: disable=pointless-statement
        self.event.get("EVENTNAME")
        self.assertEqual(self.event._lower["eventname"], "eventName")

    def test_misses_build_the_key_map_on_the_second_and_lookups_stay_the_same(self):
        event = PantherEvent({"Name": "upper", "name": "lower", "ErrorCode": "Denied"})
        self.assertIsNone(event.get("missing"))
        self.assertIsNone(event._lower, "one miss: keys compared, no map built")
        self.assertIsNone(event.get("other"))
        self.assertEqual(event._lower["errorcode"], "ErrorCode")
        self.assertEqual(event.get("errorCode"), "Denied")
        self.assertEqual(event["NAME"], "upper")
        self.assertEqual(event["name"], "lower")
        self.assertNotIn("missing", event)
        fresh = PantherEvent({"ErrorCode": "Denied"})
        self.assertIsNone(fresh.get("missing"))
        self.assertEqual(fresh.get("errorcode"), "Denied", "found after a miss without a map")

    def test_equality(self):
        self.assertEqual(self.event, cloudtrail_event())
        self.assertEqual(cloudtrail_event(), self.event)
        self.assertEqual(self.event, PantherEvent(cloudtrail_event()))
        self.assertNotEqual(self.event, {"eventName": "StopLogging"})
        self.assertEqual(self.event["resources"], cloudtrail_event()["resources"])
        self.assertEqual(self.event["userIdentity"]["sessionContext"], {"sessionIssuer": {"userName": "Admin"}})
        self.assertEqual(ImmutableList([1, 2]), (1, 2))
        self.assertNotEqual(self.event, "StopLogging")

    def test_repr(self):
        self.assertEqual(repr(PantherEvent({"a": 1})), "PantherEvent({'a': 1})")
        self.assertEqual(repr(PantherEvent({"a": [1]})["a"]), "ImmutableList([1])")

    def test_immutable(self):
        with self.assertRaises(TypeError):
            self.event["eventName"] = "x"
        with self.assertRaises(TypeError):
            del self.event["eventName"]
        with self.assertRaises(TypeError):
            self.event["userIdentity"]["type"] = "Root"
        with self.assertRaises(TypeError):
            self.event["resources"][0] = {}
        with self.assertRaises(AttributeError):
            self.event.update({"a": 1})  # pylint: disable=no-member
        with self.assertRaises(AttributeError):
            self.event["resources"].append(1)  # pylint: disable=no-member
        with self.assertRaises(AttributeError):
            self.event.extra = 1  # pylint: disable=attribute-defined-outside-init
        self.assertEqual(self.raw, cloudtrail_event())

    def test_to_dict_is_an_independent_deep_copy(self):
        copied = self.event.to_dict()
        self.assertEqual(copied, self.raw)
        self.assertIs(type(copied), dict)
        copied["userIdentity"]["type"] = "Root"
        copied["resources"].append({})
        self.assertEqual(self.raw, cloudtrail_event())
        nested = self.event["userIdentity"].to_dict()
        self.assertEqual(nested, self.raw["userIdentity"])
        self.assertIsNot(nested, self.raw["userIdentity"])

    def test_copy_module(self):
        self.assertIs(copy.copy(self.event), self.event)
        deep = copy.deepcopy(self.event)
        self.assertIsInstance(deep, PantherEvent)
        self.assertEqual(deep, self.event)
        self.assertIsNot(deep._d["userIdentity"], self.raw["userIdentity"])

    def test_event_time_epoch(self):
        self.assertEqual(self.event.event_time_epoch(), 1709296245)
        self.assertEqual(PantherEvent({"eventTime": "2024-03-01T12:30:45Z"}).event_time_epoch(), 1709296245)
        with self.assertRaises(ValueError):
            PantherEvent({"eventName": "x"}).event_time_epoch()

    def test_epoch_seconds_formats(self):
        self.assertEqual(epoch_seconds("1970-01-01 00:00:00"), 0)
        self.assertEqual(epoch_seconds("1970-01-01T01:00:00+01:00"), 0)
        self.assertEqual(epoch_seconds("1970-01-01T00:00:00.999999999-0130"), 5400)
        self.assertEqual(epoch_seconds(12.9), 12)
        with self.assertRaises(ValueError):
            epoch_seconds("yesterday")


class DeepGet(unittest.TestCase):
    def setUp(self):
        self.event = PantherEvent(cloudtrail_event())

    def test_walks_dicts_case_insensitively(self):
        self.assertEqual(self.event.deep_get("userIdentity", "type"), "AssumedRole")
        self.assertEqual(self.event.deep_get("USERIDENTITY", "sessionContext", "SessionIssuer", "userName"), "Admin")
        self.assertIsInstance(self.event.deep_get("userIdentity", "sessionContext"), ImmutableCaseInsensitiveDict)

    def test_missing_and_none_give_the_default(self):
        self.assertIsNone(self.event.deep_get("userIdentity", "nope"))
        self.assertEqual(self.event.deep_get("userIdentity", "nope", default="d"), "d")
        self.assertEqual(self.event.deep_get("requestParameters", "tags", default="d"), "d")
        self.assertEqual(self.event.deep_get("eventName", "deeper", default="d"), "d")
        self.assertEqual(self.event.deep_get("resources", "ARN", default="d"), "d")
        self.assertIs(self.event.deep_get(), self.event)

    def test_module_function_on_plain_dicts_is_exact(self):
        raw = cloudtrail_event()
        self.assertEqual(deep_get(raw, "userIdentity", "type"), "AssumedRole")
        self.assertIsNone(deep_get(raw, "USERIDENTITY", "type"))
        self.assertIs(deep_get(raw, "userIdentity"), raw["userIdentity"])
        self.assertEqual(deep_get(self.event, "USERIDENTITY", "TYPE"), "AssumedRole")


class DeepWalk(unittest.TestCase):
    def setUp(self):
        self.event = PantherEvent(cloudtrail_event())

    def test_descends_through_lists(self):
        self.assertEqual(
            self.event.deep_walk("resources", "arn"),
            ["arn:aws:cloudtrail:us-east-1:111122223333:trail/main", "arn:aws:s3:::logs"],
        )
        self.assertEqual(self.event.deep_walk("resources", "ARN", return_val="first"),
                         "arn:aws:cloudtrail:us-east-1:111122223333:trail/main")
        self.assertEqual(self.event.deep_walk("resources", "ARN", return_val="last"), "arn:aws:s3:::logs")

    def test_single_unique_value_is_returned_alone(self):
        event = PantherEvent({"r": [{"k": "v"}, {"k": "v"}, {"x": 1}]})
        self.assertEqual(event.deep_walk("r", "k"), "v")

    def test_nested_lists_are_flattened(self):
        event = PantherEvent({"a": [{"b": [{"c": 1}, {"c": 2}]}, {"b": [{"c": 2}, {"c": 3}]}]})
        self.assertEqual(event.deep_walk("a", "b", "c"), [1, 2, 3])
        event = PantherEvent({"a": [{"tags": ["x", "y"]}, {"tags": ["y", "z"]}]})
        self.assertEqual(event.deep_walk("a", "tags"), ["x", "y", "z"])

    def test_dict_path_returns_value_as_is(self):
        self.assertEqual(self.event.deep_walk("userIdentity", "type"), "AssumedRole")
        resources = self.event.deep_walk("resources")
        self.assertIsInstance(resources, ImmutableList)
        self.assertEqual(len(resources), 3)

    def test_collected_dicts_are_wrapped_and_deduplicated(self):
        event = PantherEvent({"a": [{"b": {"Id": 1}}, {"b": {"Id": 1}}, {"b": {"Id": 2}}]})
        found = event.deep_walk("a", "b")
        self.assertEqual(found, [{"Id": 1}, {"Id": 2}])
        self.assertEqual(found[0]["id"], 1)

    def test_missing_gives_default(self):
        self.assertEqual(self.event.deep_walk("resources", "nope", default="d"), "d")
        self.assertEqual(self.event.deep_walk("nope", "x", default="d"), "d")
        self.assertEqual(self.event.deep_walk("eventName", "x", default="d"), "d")
        self.assertEqual(PantherEvent({"a": []}).deep_walk("a", default="d"), "d")
        self.assertEqual(PantherEvent({"a": [[], []]}).deep_walk("a", default="d"), "d")
        self.assertEqual(PantherEvent({"a": None}).deep_walk("a", default="d"), "d")

    def test_plain_dicts(self):
        raw = {"r": [{"id": 1}, {"id": 2}], "R": [{"id": 9}]}
        self.assertEqual(deep_walk(raw, "r", "id"), [1, 2])
        self.assertEqual(deep_walk(raw, "R", "id"), 9)

    def test_rejects_unknown_return_val(self):
        with self.assertRaises(ValueError):
            self.event.deep_walk("resources", "ARN", return_val="middle")


DATA_MODEL_SOURCE = textwrap.dedent(
    """
    def get_actor(event):
        return event.deep_get("userIdentity", "sessionContext", "sessionIssuer", "userName")

    def get_identity(event):
        return event.get("userIdentity")
    """
)


class DataModels(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        path = os.path.join(cls.tmp.name, "cloudtrail_model.py")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(DATA_MODEL_SOURCE)
        module = import_file(path, "_iota_test_datamodel")
        paths = {
            name: (path_text, compile_path(path_text))
            for name, path_text in {
                "source_ip": "$.sourceIPAddress",
                "user_type": "$.userIdentity.type",
                "first_resource": "$.resources[0].ARN",
                "dotted": "$['odd.key']",
                "all_arns": "$.resources[*].ARN",
            }.items()
        }
        methods = {"actor": module.get_actor, "identity": module.get_identity}
        cls.model = DataModel("Standard.AWS.CloudTrail", paths, methods)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def event(self, **extra):
        raw = cloudtrail_event()
        raw.update(extra)
        return PantherEvent(raw, self.model)

    def test_udm_by_path(self):
        event = self.event(**{"odd.key": "dots"})
        self.assertEqual(event.udm("source_ip"), "203.0.113.7")
        self.assertEqual(event.udm("user_type"), "AssumedRole")
        self.assertEqual(event.udm("first_resource"), "arn:aws:cloudtrail:us-east-1:111122223333:trail/main")
        self.assertEqual(event.udm("dotted"), "dots")
        self.assertEqual(event.udm_path("source_ip"), "$.sourceIPAddress")

    def test_udm_by_method(self):
        event = self.event()
        self.assertEqual(event.udm("actor"), "Admin")
        self.assertEqual(event.udm("identity", "type"), "AssumedRole")
        self.assertIsNone(event.udm_path("actor"))

    def test_udm_defaults(self):
        event = self.event()
        self.assertIsNone(event.udm("not_mapped"))
        self.assertEqual(event.udm("not_mapped", default="d"), "d")
        self.assertEqual(self.event(sourceIPAddress=None).udm("source_ip", default="d"), "d")
        self.assertEqual(PantherEvent(cloudtrail_event()).udm("source_ip", default="d"), "d")
        self.assertIsNone(PantherEvent(cloudtrail_event()).udm_path("source_ip"))

    def test_path_matching_several_values_is_an_error(self):
        with self.assertRaises(ValueError):
            self.event().udm("all_arns")

    def test_compile_path(self):
        self.assertEqual(compile_path("a.b"), (("key", "a"), ("key", "b")))
        self.assertEqual(
            compile_path("$.a[2]['x.y'][*].*"),
            (("key", "a"), ("index", 2), ("key", "x.y"), ("any", None), ("any", None)),
        )
        for bad in ("", "$", "$..a", "$.a[", 7):
            with self.assertRaises(ValueError, msg=repr(bad)):
                compile_path(bad)


if __name__ == "__main__":
    unittest.main()
