"""Tests of the caching helpers (panther_detection_helpers.caching) and the store behind them."""

import unittest

from iota_runtime import state
from iota_runtime.event import PantherEvent
from panther_detection_helpers import caching


class FakeClock:
    def __init__(self, now=1_700_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


class CachingHelpers(unittest.TestCase):
    def setUp(self):
        self.clock = FakeClock()
        self.previous = state.install(state.MemoryStore(clock=self.clock))

    def tearDown(self):
        state.install(self.previous)

    def test_string_sets(self):
        self.assertEqual(caching.get_string_set("users"), set())
        caching.put_string_set("users", ["alice", "bob"])
        self.assertEqual(caching.get_string_set("users"), {"alice", "bob"})
        self.assertEqual(caching.add_to_string_set("users", "carol"), {"alice", "bob", "carol"})
        self.assertEqual(caching.add_to_string_set("users", ["dave", "alice"]), {"alice", "bob", "carol", "dave"})
        self.assertEqual(caching.remove_from_string_set("users", ["alice", "bob"]), {"carol", "dave"})
        returned = caching.get_string_set("users")
        returned.add("mallory")
        self.assertEqual(caching.get_string_set("users"), {"carol", "dave"})
        self.assertEqual(caching.remove_from_string_set("users", ["carol", "dave"]), set())
        self.assertEqual(caching.get_string_set("users"), set())
        caching.put_string_set("users", ["x"])
        caching.reset_string_set("users")
        self.assertEqual(caching.get_string_set("users", force_ttl_check=True), set())

    def test_string_set_members_must_be_strings(self):
        with self.assertRaises(TypeError):
            caching.put_string_set("users", [1, 2])
        with self.assertRaises(ValueError):
            caching.put_string_set("", ["a"])

    def test_string_set_expiry(self):
        now = self.clock.now
        caching.put_string_set("ips", ["10.0.0.1"], epoch_seconds=now + 60)
        self.clock.now = now + 59
        self.assertEqual(caching.get_string_set("ips"), {"10.0.0.1"})
        # Adding keeps the expiry unless a new one is given.
        caching.add_to_string_set("ips", "10.0.0.2")
        self.clock.now = now + 60
        self.assertEqual(caching.get_string_set("ips"), set())
        self.assertEqual(caching.add_to_string_set("ips", "10.0.0.3", epoch_seconds=now + 120), {"10.0.0.3"})
        self.clock.now = now + 119
        self.assertEqual(caching.get_string_set("ips"), {"10.0.0.3"})
        self.clock.now = now + 121
        self.assertEqual(caching.get_string_set("ips"), set())

    def test_put_replaces_the_expiry(self):
        now = self.clock.now
        caching.put_string_set("k", ["a"], epoch_seconds=now + 10)
        caching.put_string_set("k", ["b"])
        self.clock.now = now + 1000
        self.assertEqual(caching.get_string_set("k"), {"b"})

    def test_counters(self):
        self.assertEqual(caching.get_counter("logins"), 0)
        self.assertEqual(caching.increment_counter("logins"), 1)
        self.assertEqual(caching.increment_counter("logins", 5), 6)
        self.assertEqual(caching.increment_counter("logins", val=-1), 5)
        self.assertEqual(caching.get_counter("logins"), 5)
        caching.reset_counter("logins")
        self.assertEqual(caching.get_counter("logins"), 0)
        with self.assertRaises(TypeError):
            caching.increment_counter("logins", 1.5)

    def test_counter_expiry(self):
        now = self.clock.now
        self.assertEqual(caching.increment_counter("fails", epoch_seconds=now + 300), 1)
        self.assertEqual(caching.increment_counter("fails"), 2)
        self.clock.now = now + 299
        self.assertEqual(caching.get_counter("fails"), 2)
        self.clock.now = now + 300
        self.assertEqual(caching.get_counter("fails"), 0)
        self.assertEqual(caching.increment_counter("fails"), 1)

    def test_set_key_expiration(self):
        now = self.clock.now
        caching.increment_counter("c")
        caching.set_key_expiration("c", now + 5)
        caching.set_key_expiration("missing", now + 5)
        self.clock.now = now + 4
        self.assertEqual(caching.get_counter("c"), 1)
        self.clock.now = now + 5
        self.assertEqual(caching.get_counter("c"), 0)
        self.assertEqual(caching.get_counter("missing"), 0)

    def test_dictionaries(self):
        now = self.clock.now
        self.assertEqual(caching.get_dictionary("session"), {})
        value = {"ip": "10.0.0.1", "count": 2, "nested": {"a": [1, 2]}}
        caching.put_dictionary("session", value, epoch_seconds=now + 30)
        value["ip"] = "changed"
        stored = caching.get_dictionary("session")
        self.assertEqual(stored, {"ip": "10.0.0.1", "count": 2, "nested": {"a": [1, 2]}})
        stored["count"] = 99
        self.assertEqual(caching.get_dictionary("session")["count"], 2)
        self.clock.now = now + 30
        self.assertEqual(caching.get_dictionary("session"), {})

    def test_put_dictionary_accepts_event_values_and_rejects_the_rest(self):
        event = PantherEvent({"userIdentity": {"type": "Root"}, "eventName": "x"})
        caching.put_dictionary("event", event, epoch_seconds=self.clock.now + 10.5)
        self.assertEqual(caching.get_dictionary("event"), {"userIdentity": {"type": "Root"}, "eventName": "x"})
        with self.assertRaises(TypeError):
            caching.put_dictionary("bad", ["not", "a", "dict"])
        with self.assertRaises(TypeError):
            caching.put_dictionary("bad", {"x": object()})
        with self.assertRaises(TypeError):
            caching.put_dictionary("bad", {"x": 1}, epoch_seconds="tomorrow")

    def test_kinds_do_not_mix(self):
        caching.increment_counter("shared")
        with self.assertRaises(TypeError):
            caching.add_to_string_set("shared", "a")
        with self.assertRaises(TypeError):
            caching.get_dictionary("shared")

    def test_evaluate_threshold(self):
        now = self.clock.now
        self.assertFalse(caching.evaluate_threshold("burst", threshold=3, expiry_seconds=60))
        self.assertFalse(caching.evaluate_threshold("burst", threshold=3, expiry_seconds=60))
        self.assertTrue(caching.evaluate_threshold("burst", threshold=3, expiry_seconds=60))
        self.assertEqual(caching.get_counter("burst"), 0)
        self.assertFalse(caching.evaluate_threshold("burst", threshold=3, expiry_seconds=60))
        self.clock.now = now + 61
        self.assertFalse(caching.evaluate_threshold("burst", threshold=3, expiry_seconds=60))
        self.assertEqual(caching.get_counter("burst"), 1)

    def test_expired_keys_are_swept_without_being_read(self):
        store = state.current()
        for i in range(2000):
            caching.increment_counter(f"k{i}", epoch_seconds=self.clock.now + 1)
        self.clock.now += 2
        for i in range(1100):
            caching.increment_counter(f"fresh{i}")
        self.assertFalse([key for key in store._items if not key.startswith("fresh")])


if __name__ == "__main__":
    unittest.main()


class RemoteStoreTest(unittest.TestCase):
    """The worker's store sends each operation to iota and decodes the answer."""

    def test_operations_become_state_requests(self):
        sent = []
        answers = iter([{"counter": 3}, 4, ["a", "b"], None, {"dict": '{"k": 1}'}])

        def request(message):
            sent.append(message)
            return next(answers)

        store = state.RemoteStore(request)
        self.assertEqual(store.get("c"), 3)
        self.assertEqual(store.increment("c", 1, 99.0), 4)
        self.assertEqual(store.add_members("s", frozenset({"b", "a"})), frozenset({"a", "b"}))
        store.put("d", b'{"k": 1}', None)
        self.assertEqual(store.get("d"), b'{"k": 1}')
        self.assertEqual(
            sent,
            [
                {"op": "get", "key": "c"},
                {"op": "increment", "key": "c", "by": 1, "expires_at": 99.0},
                {"op": "add_members", "key": "s", "members": ["a", "b"], "expires_at": None},
                {"op": "put", "key": "d", "value": {"dict": '{"k": 1}'}, "expires_at": None},
                {"op": "get", "key": "d"},
            ],
        )
