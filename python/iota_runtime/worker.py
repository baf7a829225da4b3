"""The rule worker process: the Python end of docs/WORKER_PROTOCOL.md.

Request frames arrive on fd 3, response frames leave on fd 4, and the progress record on fd 5
tells iota which rule on which event is running, should this process die. `main()` is the
entry point of the bootstrap command in the protocol document.
"""

import gc
import importlib
import mmap
import os
import signal
import struct
import sys
import traceback

from . import inference, jsonio, state
from .datamodel import DataModel, compile_path
from .event import PantherEvent
from .failures import describe
from .loader import import_file
from .rules import Rule
from .testing import not_imported, run_case

REQUEST_FD, RESPONSE_FD, PROGRESS_FD = 3, 4, 5
MAX_FRAME = 1 << 30

# Room for rules that recurse over the deepest JSON orjson parses (1024 levels), while a
# runaway recursion still ends as a RecursionError well inside an 8 MiB C stack.
RECURSION_LIMIT = 2000

_HEADER = struct.Struct("<I")
_BATCH_ID = struct.Struct("<Q")  # progress record offset 0
_PAIR = struct.Struct("<ii")  # progress record offset 8: event_index, rule_index

# Imported before the init paths go on sys.path, so a same-named module in a helper
# directory cannot replace iota's own implementations of these.
_OWN_MODULES = ("panther_core", "panther_detection_helpers.caching", "iota_helpers")


class ProtocolError(Exception):
    """iota sent something this worker cannot act on."""


def read_frame(stream):
    """The payload of the next frame, or None at a clean end of stream."""
    header = stream.read(_HEADER.size)
    if not header:
        return None
    if len(header) != _HEADER.size:
        raise ProtocolError("stream ended inside a frame header")
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ProtocolError(f"frame of {size} bytes exceeds the 1 GiB limit")
    payload = stream.read(size)
    if len(payload) != size:
        raise ProtocolError(f"stream ended inside a frame ({len(payload)} of {size} bytes)")
    return payload


def write_frame(fd, payload):
    """Write one frame to `fd`, looping until every byte is out."""
    data = memoryview(_HEADER.pack(len(payload)) + payload)
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _open_progress():
    try:
        return mmap.mmap(PROGRESS_FD, 16)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"iota worker: no progress record on fd {PROGRESS_FD} ({exc})\n")
        return bytearray(16)


def _load_data_models(specs):
    """{log type: DataModel} and the data_model_errors entries."""
    by_log_type = {}
    errors = []
    for position, spec in enumerate(specs):
        model_id = str(spec.get("id"))
        paths, methods, wanted_methods = {}, {}, {}
        for mapping in spec.get("mappings") or []:
            name = mapping.get("name")
            try:
                if mapping.get("path") is not None:
                    paths[name] = (mapping["path"], compile_path(mapping["path"]))
                elif mapping.get("method") is not None:
                    wanted_methods[name] = mapping["method"]
                else:
                    raise ValueError(f"mapping {name!r} has neither path nor method")
            except ValueError as exc:
                error, trace = describe(exc)
                errors.append({"id": model_id, "error": error, "traceback": trace})
        module = None
        import_failed = False
        if spec.get("file"):
            try:
                module = import_file(spec["file"], f"_iota_datamodel_{position}")
            except BaseException as exc:
                error, trace = describe(exc)
                errors.append({"id": model_id, "error": error, "traceback": trace})
                import_failed = True
        for name, method_name in wanted_methods.items():
            method = getattr(module, method_name, None)
            if callable(method):
                methods[name] = method
            elif not import_failed:
                errors.append(
                    {
                        "id": model_id,
                        "error": f"AttributeError: data model has no function {method_name!r} "
                        f"for field {name!r}",
                        "traceback": "",
                    }
                )
        model = DataModel(model_id, paths, methods)
        for log_type in spec.get("log_types") or []:
            by_log_type.setdefault(log_type, model)
    return by_log_type, errors


def _load_rules(specs, max_length, progress):
    """Rules indexed by their `index` (None where absent or failed), the import errors and
    the `inferred_filters` of the `ready` message."""
    seen = set()
    for spec in specs:
        index = spec.get("index")
        if type(index) is not int or index < 0 or index in seen:
            raise ProtocolError(f"invalid or repeated rule index {index!r}")
        seen.add(index)
    rules = [None] * (max(seen, default=-1) + 1)
    errors = []
    inferred = {}
    for spec in specs:
        index = spec["index"]
        _PAIR.pack_into(progress, 8, -1, index)
        try:
            if spec.get("kind") not in ("plain", "panther"):
                raise ValueError(f"unknown rule kind {spec.get('kind')!r}")
            stem = os.path.splitext(os.path.basename(spec["file"]))[0]
            module = import_file(spec["file"], f"_iota_rule_{index}_{stem}")
            if not callable(getattr(module, "rule", None)):
                raise ImportError(f"{spec['file']} defines no rule(event) function")
            rules[index] = Rule(spec, module, max_length)
        except BaseException as exc:
            error, trace = describe(exc)
            errors.append({"index": index, "error": error, "traceback": trace})
            continue
        if not spec.get("declared_filter"):
            cond = _infer(spec["file"])
            if cond is not None:
                inferred[str(index)] = cond
    _PAIR.pack_into(progress, 8, -1, -1)
    return rules, errors, inferred


def _infer(path):
    """The inferred prefilter of the rule file at `path`, or None."""
    try:
        return inference.infer_file(path)
    except Exception:  # an optimisation only: a rule it trips over just runs on every event
        traceback.print_exc()
        return None


def _entry_point(rule):
    """What a batch calls for `rule`: rule() itself, or for a rule with InlineFilters rule()
    behind them (an event they reject is no match). Rules without them pay nothing."""
    accepts = rule.accepts
    if accepts is None:
        return rule.rule
    function = rule.rule

    def filtered(event):
        return accepts(event._d) and function(event)

    return filtered


class Worker:
    """The state built by `init`, the evaluation of batches and the `test` and `inspect`
    requests of the rule tooling."""

    def __init__(self, init, progress):
        self.progress = progress
        _BATCH_ID.pack_into(progress, 0, 0)
        _PAIR.pack_into(progress, 8, -1, -1)
        max_length = init.get("max_string_length") or 1000
        sys.path[0:0] = [str(p) for p in init.get("paths") or []]
        self.data_models, self.data_model_errors = _load_data_models(init.get("data_models") or [])
        rule_specs = init.get("rules") or []
        self.rules, self.import_errors, self.inferred_filters = _load_rules(
            rule_specs, max_length, progress
        )
        self.rule_functions = [None if r is None else _entry_point(r) for r in self.rules]
        self.defined = frozenset(spec["index"] for spec in rule_specs)
        self.import_failures = {e["index"]: e for e in self.import_errors}
        # With describe_once: per (rule, dedup, window), the order of the earliest match
        # described so far (docs/WORKER_PROTOCOL.md, results).
        self.described = {} if init.get("describe_once") else None

    def ready(self):
        return {
            "type": "ready",
            # Not platform.python_version(): importing platform costs a worker several ms.
            "python": "%d.%d.%d" % sys.version_info[:3],
            "json": jsonio.NAME,
            "import_errors": self.import_errors,
            "data_model_errors": self.data_model_errors,
            "inferred_filters": self.inferred_filters,
        }

    def run_batch(self, batch):
        """Evaluate a `batch` message and return its `results` message."""
        batch_id = batch["id"]
        sets = batch["sets"]
        events = batch["events"]
        defined = self.defined
        for rule_set in sets:
            for index in rule_set:
                if type(index) is not int or index not in defined:
                    raise ProtocolError(f"batch {batch_id} names unknown rule index {index!r}")
        functions = self.rule_functions
        rules = self.rules
        models = self.data_models.get if self.data_models else None
        progress = self.progress
        mark = _PAIR.pack_into
        _BATCH_ID.pack_into(progress, 0, batch_id)
        mark(progress, 8, -1, -1)
        matches = []
        errors = []
        # Per (rule, dedup string, window): the earliest match of the batch, with its event.
        # Only these get details(): an alert shows its earliest event, and the earliest of a
        # window over all batches is the earliest of one batch.
        earliest = {}
        for event_index, (set_index, raw, time_ns, event_id) in enumerate(events):
            event = PantherEvent(raw, models(raw.get("p_log_type")) if models else None)
            order = (time_ns, event_id is not None, event_id or "")
            seconds = time_ns // 1_000_000_000
            for rule_index in sets[set_index]:
                function = functions[rule_index]
                if function is None:
                    continue
                mark(progress, 8, event_index, rule_index)
                try:
                    if not function(event):
                        continue
                except BaseException as exc:
                    # Exception, but also SystemExit from sys.exit(), RecursionError,
                    # MemoryError and KeyboardInterrupt: all are the rule's failure.
                    error, trace = describe(exc)
                    errors.append(
                        {
                            "event": event_index,
                            "rule": rule_index,
                            "function": "rule",
                            "error": error,
                            "traceback": trace,
                        }
                    )
                    continue
                rule = rules[rule_index]
                entry, title = rule.identify(event, event_index, errors)
                matches.append(entry)
                key = (rule_index, entry["dedup"], seconds // rule.window_seconds)
                first = earliest.get(key)
                if first is None or order < first[0]:
                    earliest[key] = (order, entry, event, title)
        described = self.described
        for key, (order, entry, event, title) in earliest.items():
            if described is not None:
                known = described.get(key)
                if known is not None and known <= order:
                    continue
                described[key] = order
            event_index, rule_index = entry["event"], entry["rule"]
            mark(progress, 8, event_index, rule_index)
            entry["details"] = rules[rule_index].details(event, event_index, errors, title)
        mark(progress, 8, -1, -1)
        return {"type": "results", "id": batch_id, "matches": matches, "errors": errors}

    def run_test(self, message):
        """Run a `test` message's cases and return its `test_results` message."""
        test_id = message["id"]
        index = message["rule"]
        if type(index) is not int or index not in self.defined:
            raise ProtocolError(f"test {test_id} names unknown rule index {index!r}")
        cases = message["cases"]
        _check_cases(test_id, cases)
        rule = self.rules[index]
        models = self.data_models
        progress = self.progress
        _BATCH_ID.pack_into(progress, 0, test_id)
        _PAIR.pack_into(progress, 8, -1, -1)
        results = []
        for case_index, case in enumerate(cases):
            _PAIR.pack_into(progress, 8, case_index, index)
            if rule is None:
                results.append(not_imported(case, self.import_failures[index]))
            else:
                raw = case["event"]
                event = PantherEvent(raw, models.get(raw.get("p_log_type")))
                results.append(run_case(rule, case, event))
        _PAIR.pack_into(progress, 8, -1, -1)
        return {"type": "test_results", "id": test_id, "rule": index, "cases": results}

    def inspect(self):
        """The `inspection` message: the public names of every imported rule module."""
        return {
            "type": "inspection",
            "rules": {
                str(rule.index): [
                    name
                    for name in vars(rule.module)
                    if isinstance(name, str) and not name.startswith("_")
                ]
                for rule in self.rules
                if rule is not None
            },
        }


def _check_cases(test_id, cases):
    """Raise ProtocolError unless `cases` is a list of well-formed test cases."""
    if not isinstance(cases, list):
        raise ProtocolError(f"test {test_id}: cases must be a list")
    for position, case in enumerate(cases):
        where = f"test {test_id}, case {position}"
        if not isinstance(case, dict):
            raise ProtocolError(f"{where} is not an object")
        if type(case.get("expected")) is not bool:
            raise ProtocolError(f"{where}: expected must be true or false")
        if not isinstance(case.get("event"), dict):
            raise ProtocolError(f"{where}: event must be an object")
        mocks = case.get("mocks")
        if mocks is None:
            continue
        if not isinstance(mocks, list) or not all(
            isinstance(m, dict) and isinstance(m.get("name"), str) for m in mocks
        ):
            raise ProtocolError(f"{where}: mocks must be a list of objects with a string name")


def _state_request(requests, response_fd, message):
    """One `state` request to iota in the middle of a batch; returns the answer's value."""
    message["type"] = "state"
    write_frame(response_fd, jsonio.dumps(message))
    frame = read_frame(requests)
    if frame is None:
        raise ProtocolError("iota went away during a state request")
    answer = jsonio.loads(frame)
    if answer.get("type") != "state_result":
        raise ProtocolError(f"expected state_result, not {answer.get('type')!r}")
    if not answer.get("ok"):
        raise state.StateError(answer.get("error") or "state operation failed")
    return answer.get("value")


def serve(requests, response_fd, progress):
    """Answer frames until shutdown or the end of the request stream."""
    for module in _OWN_MODULES:
        importlib.import_module(module)
    frame = read_frame(requests)
    if frame is None:
        return
    init = jsonio.loads(frame)
    if init.get("type") != "init":
        raise ProtocolError(f"first message must be init, not {init.get('type')!r}")
    if init.get("state") == "remote":
        state.install(state.RemoteStore(lambda message: _state_request(requests, response_fd, message)))
    worker = Worker(init, progress)
    write_frame(response_fd, jsonio.dumps(worker.ready()))
    # Everything loaded so far lives as long as the process: keep the cyclic collector from
    # walking it again and again.
    gc.freeze()
    while True:
        frame = read_frame(requests)
        if frame is None:
            return
        # A parsed batch is tens of thousands of containers without a single cycle, all
        # freed by reference counting when _answer returns. Letting the collector run while
        # it is alive would only walk it repeatedly (over 10% of the worker's time), so the
        # collector is paused for the batch and sees only what rules leave behind.
        gc.disable()
        try:
            done = _answer(worker, frame, response_fd)
        finally:
            gc.enable()
        if done:
            return


def _answer(worker, frame, response_fd):
    """Act on one request after init; True when the worker should exit."""
    message = jsonio.loads(frame)
    kind = message.get("type")
    if kind == "batch":
        write_frame(response_fd, jsonio.dumps(worker.run_batch(message)))
        return False
    if kind == "test":
        write_frame(response_fd, jsonio.dumps(worker.run_test(message)))
        return False
    if kind == "inspect":
        write_frame(response_fd, jsonio.dumps(worker.inspect()))
        return False
    if kind == "shutdown":
        return True
    raise ProtocolError(f"unexpected message type {kind!r}")


def main():
    """Worker entry point; exits the process (0 on shutdown or end of input)."""
    # iota owns this process's life cycle: a Ctrl-C meant for iota must not kill a worker
    # mid-batch, and a rule's child processes must not inherit the protocol descriptors.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for fd in (REQUEST_FD, RESPONSE_FD, PROGRESS_FD):
        try:
            os.set_inheritable(fd, False)
        except OSError:
            pass
    sys.setrecursionlimit(RECURSION_LIMIT)
    # Rule output is for debugging: line buffering gets it to iota's log before a crash.
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.reconfigure(line_buffering=True)
    status = 0
    try:
        with open(REQUEST_FD, "rb", buffering=1 << 16) as requests:
            serve(requests, RESPONSE_FD, _open_progress())
    except BrokenPipeError:
        status = 1
    except BaseException:
        sys.stderr.write("iota worker: fatal error\n" + traceback.format_exc())
        status = 2
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    # Skip interpreter teardown: rules' atexit handlers and the collection of a large heap
    # would only delay the exit iota is waiting for.
    os._exit(status)
