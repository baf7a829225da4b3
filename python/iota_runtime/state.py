"""The key-value state behind panther_detection_helpers.caching (SPEC 3.2).

The caching helpers talk only to the store returned by `current()`, through the handful of
atomic operations of `MemoryStore`. `MemoryStore` keeps the state of one process (rule tests,
tools); in a worker, iota installs a `RemoteStore`, which forwards each operation to iota over
the protocol pipes, so that the state is shared by all workers (and, with a PostgreSQL state
store, by all replicas).

Values are ints (counters), frozensets of str (string sets) or bytes (JSON dictionaries).
`expires_at` is an absolute epoch time in seconds; an expired key reads as missing.
"""

import time


class MemoryStore:
    """In-process store with per-key expiry."""

    def __init__(self, clock=time.time):
        self._clock = clock
        self._items = {}  # key -> [value, expires_at or None]
        self._writes_since_sweep = 0
        self._sweep_after = 1024

    def now(self):
        """The current epoch time as this store sees it."""
        return self._clock()

    def _live(self, key):
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] is not None and item[1] <= self._clock():
            del self._items[key]
            return None
        return item

    def _wrote(self):
        # Expired keys nobody reads again are dropped by a sweep every N writes, N being the
        # number of keys the previous sweep left: a sweep's cost is amortised over the writes.
        self._writes_since_sweep += 1
        if self._writes_since_sweep >= self._sweep_after:
            now = self._clock()
            for key in [k for k, (_, exp) in self._items.items() if exp is not None and exp <= now]:
                del self._items[key]
            self._writes_since_sweep = 0
            self._sweep_after = max(1024, len(self._items))

    def get(self, key):
        """The live value of `key`, or None."""
        item = self._live(key)
        return None if item is None else item[0]

    def put(self, key, value, expires_at=None):
        """Replace `key` (and its expiry) with `value`."""
        self._items[key] = [value, expires_at]
        self._wrote()

    def delete(self, key):
        self._items.pop(key, None)

    def _update(self, key, kind, empty, change, expires_at):
        """Apply `change` to the value at `key` (`empty` when missing) and return the result;
        a result equal to `empty` deletes the key."""
        item = self._live(key)
        if item is None:
            item = [empty, None]
        elif not isinstance(item[0], kind):
            raise TypeError(f"state key {key!r} holds a {type(item[0]).__name__}")
        value = change(item[0])
        if expires_at is not None:
            item[1] = expires_at
        if value == empty:
            self._items.pop(key, None)
        else:
            item[0] = value
            self._items[key] = item
        self._wrote()
        return value

    def increment(self, key, by, expires_at=None):
        """Add `by` to the counter at `key` (0 when missing) and return the new count; the
        expiry is kept unless `expires_at` is given. A counter back at 0 is deleted."""
        return self._update(key, int, 0, lambda count: count + by, expires_at)

    def add_members(self, key, members, expires_at=None):
        """Add `members` to the string set at `key` and return the new set."""
        return self._update(key, frozenset, frozenset(), lambda s: s | members, expires_at)

    def remove_members(self, key, members):
        """Remove `members` from the string set at `key` and return the new set; a set that
        becomes empty is deleted."""
        return self._update(key, frozenset, frozenset(), lambda s: s - members, None)

    def expire(self, key, expires_at):
        """Set the expiry of an existing key; no effect on a missing one."""
        item = self._live(key)
        if item is not None:
            item[1] = expires_at


class StateError(Exception):
    """iota could not carry out a state operation (the rule that asked sees it raised)."""


class RemoteStore:
    """The store of a worker: each operation is one `state` request to iota (see
    docs/WORKER_PROTOCOL.md); `request(message)` sends it and returns the answer's value."""

    def __init__(self, request, clock=time.time):
        self._request = request
        self._clock = clock

    def now(self):
        return self._clock()

    def get(self, key):
        return _decode(self._request({"op": "get", "key": key}))

    def put(self, key, value, expires_at=None):
        self._request({"op": "put", "key": key, "value": _encode(value), "expires_at": expires_at})

    def delete(self, key):
        self._request({"op": "delete", "key": key})

    def increment(self, key, by, expires_at=None):
        return self._request({"op": "increment", "key": key, "by": by, "expires_at": expires_at})

    def add_members(self, key, members, expires_at=None):
        message = {"op": "add_members", "key": key, "members": sorted(members), "expires_at": expires_at}
        return frozenset(self._request(message))

    def remove_members(self, key, members):
        return frozenset(self._request({"op": "remove_members", "key": key, "members": sorted(members)}))

    def expire(self, key, expires_at):
        self._request({"op": "expire", "key": key, "expires_at": expires_at})


def _encode(value):
    if isinstance(value, bool) or not isinstance(value, (int, frozenset, bytes)):
        raise TypeError(f"cannot store a {type(value).__name__}")
    if isinstance(value, int):
        return {"counter": value}
    if isinstance(value, frozenset):
        return {"set": sorted(value)}
    return {"dict": value.decode("utf-8")}


def _decode(value):
    if value is None:
        return None
    if "counter" in value:
        return int(value["counter"])
    if "set" in value:
        return frozenset(value["set"])
    return value["dict"].encode("utf-8")


_store = MemoryStore()


def current():
    """The store the caching helpers use in this process."""
    return _store


def install(store):
    """Make `store` the one the caching helpers use; returns the previous store."""
    global _store
    previous, _store = _store, store
    return previous
