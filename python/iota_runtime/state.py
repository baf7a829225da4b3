"""The key-value state behind panther_detection_helpers.caching (SPEC 3.2).

The caching helpers talk only to the store returned by `current()`, through the handful of
atomic operations of `MemoryStore`. This in-process store keeps the state of one worker;
a store that forwards the same operations to iota's state store (shared by all workers and
replicas) can replace it with `install()` without touching the helpers.

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


_store = MemoryStore()


def current():
    """The store the caching helpers use in this process."""
    return _store


def install(store):
    """Make `store` the one the caching helpers use; returns the previous store."""
    global _store
    previous, _store = _store, store
    return previous
