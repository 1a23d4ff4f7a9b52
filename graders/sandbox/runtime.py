"""Calling a student's function on the grader's inputs, in the student's own process, and reporting plain values.

The grader sends inputs as plain data (graders/sandbox/codec.py); each call gets fresh copies, so what the
function does to its arguments can be observed afterwards. Names the function looks up in the notebook
(sigmoid inside forward_propagation, say) can be *answered by the grader*: while the call runs they are bound to
proxies that send their arguments out and return the grader's answer, mirroring any change the grader's version
makes to its arguments. Nothing here knows a right answer; the grader judges what comes back.

The same functions serve the trusting path (graders/labs/<lab>/hidden.py, plain `nbgrader autograde`), where `ask`
calls the grader's answer in the same process.
"""

import contextlib
import inspect
import io
import linecache
import os
import sys
import traceback
import types
import warnings

import numpy as np

from graders.sandbox import codec

CELL_PREFIX = "<cell "
MAX_WARNINGS = 20
MISSING = object()


class GraderRefused(RuntimeError):
    """Raised inside the student's code when the grader does not answer a call (or its answer failed)."""


def cell_filename(cell_id):
    """The file name a notebook cell's code runs under; tracebacks and `describe` recognise it."""
    return f"{CELL_PREFIX}{cell_id}>"


def leave_if_forked(pid):
    """A process the student's code forked must never reach the grader's channel: it ends here."""
    if os.getpid() != pid:
        os._exit(0)


def remember_source(filename, source):
    """Register a cell's source so that tracebacks can quote its lines (as IPython does)."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)


def describe(value):
    """What the notebook holds under a name, as plain data: missing, a function written in a cell, or else what."""
    if value is MISSING:
        return {"kind": "missing"}
    if type(value) is types.FunctionType:
        filename, module = value.__code__.co_filename, value.__module__
        cell = (
            filename[len(CELL_PREFIX) : -1][:200]
            if type(filename) is str and filename.startswith(CELL_PREFIX)
            else None
        )
        return {"kind": "function", "module": module[:200] if type(module) is str else "?", "cell": cell}
    return {"kind": "other" if not callable(value) else "callable", "type": codec._type_name(value)[:200]}


def student_error(exc):
    """The exception's type and message, and the innermost line of notebook code it passed through."""
    where = None
    for frame, line in traceback.walk_tb(exc.__traceback__):
        filename = frame.f_code.co_filename
        if type(filename) is str and filename.startswith(CELL_PREFIX):
            where = {
                "cell": filename[len(CELL_PREFIX) : -1][:200],
                "line": int(line),
                "code": linecache.getline(filename, line).strip()[:300],
            }
    try:
        message = str(exc)
    except Exception:  # a student exception whose __str__ fails
        message = "(its message could not be read)"
    return {"type": type(exc).__name__[:200], "message": message[:2000], "where": where}


class _Discard(io.TextIOBase):
    def write(self, text):
        return len(text) if isinstance(text, str) else 0


@contextlib.contextmanager
def quiet(record):
    """Student code with its printing discarded and its warnings (numpy's floating-point ones included) recorded.

    nbgrader scores 0 a test cell that writes to stderr, so a RuntimeWarning or a tqdm bar must not escape.
    """
    with (
        warnings.catch_warnings(record=True) as caught,
        np.errstate(all="warn", under="ignore"),
        contextlib.redirect_stdout(_Discard()),
        contextlib.redirect_stderr(_Discard()),
    ):
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for item in caught[:MAX_WARNINGS]:
                try:
                    record.append(f"{item.category.__name__}: {item.message}"[:500])
                except Exception:
                    record.append("a warning that could not be read")


@contextlib.contextmanager
def substituted(namespace, replacements):
    """Names in the notebook namespace bound to `replacements` for the duration, then put back as they were."""
    saved = {name: namespace.get(name, MISSING) for name in replacements}
    namespace.update(replacements)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is MISSING:
                namespace.pop(name, None)
            else:
                namespace[name] = value


def mirror(target, source):
    """Make the student's object `target` hold what the grader's copy `source` holds, in place where it can."""
    if type(target) is dict and type(source) is dict:
        for key in [k for k in target if k not in source]:
            del target[key]
        for key, value in source.items():
            if key in target and type(target[key]) in (dict, list) and type(target[key]) is type(value):
                mirror(target[key], value)
            else:
                target[key] = value
    elif type(target) is list and type(source) is list and len(target) == len(source):
        for index, value in enumerate(source):
            if type(target[index]) in (dict, list) and type(target[index]) is type(value):
                mirror(target[index], value)
            else:
                target[index] = value
    elif type(target) is list and type(source) is list:
        target[:] = source
    elif (
        type(target) is np.ndarray
        and type(source) is np.ndarray
        and target.shape == source.shape
        and target.flags.writeable
    ):
        target[...] = source
    elif type(target) is np.random.Generator and type(source) is np.random.Generator:
        target.bit_generator.state = source.bit_generator.state


def _parameters(function):
    try:
        return inspect.signature(function) if type(function) is types.FunctionType else None
    except (TypeError, ValueError):
        return None


def proxy(name, ask, like=None):
    """A stand-in for the notebook's `name` that asks the grader: ask(name, args, kwargs) -> reply dict. Keyword
    arguments are matched to the parameters of `like`, the notebook's own function, as that function would take them,
    so the grader sees its arguments in the given order."""
    parameters = _parameters(like)

    def answered(*args, **kwargs):
        if kwargs and parameters is not None:
            bound = parameters.bind(*args, **kwargs)  # a TypeError here is the one the notebook's function would raise
            args, kwargs = bound.args, bound.kwargs
        reply = ask(name, [codec.encode(a) for a in args], {k: codec.encode(v) for k, v in kwargs.items()})
        for index, state in reply.get("mutated", {}).items():
            if 0 <= int(index) < len(args):
                mirror(args[int(index)], codec.decode(state))
        return codec.decode(reply.get("value"), answer=lambda n: proxy(n, ask))

    answered.__name__ = answered.__qualname__ = name
    return answered


def maker(namespace, ask, special=None):
    """make(name): the stand-in for the notebook's `name` while the grader answers it. A lab can shape it
    (graders/labs/<lab>/probes.py PROXIES: factory(namespace, plain_proxy)), e.g. to turn answers into graph nodes."""

    def make(name):
        plain = proxy(name, ask, like=namespace.get(name))
        factory = (special or {}).get(name)
        return factory(namespace, plain) if factory else plain

    return make


@contextlib.contextmanager
def counting_lines(function, counter):
    """Count, in counter[0], the lines of notebook code run: in the function's own file or any notebook cell."""
    home = getattr(getattr(function, "__code__", None), "co_filename", None)

    def local(frame, event, arg):
        if event == "line":
            counter[0] += 1
        return local

    def tracer(frame, event, arg):
        filename = frame.f_code.co_filename
        return local if filename == home or filename.startswith(CELL_PREFIX) else None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(previous)


def call(namespace, name, args=(), kwargs=None, answered=(), ask=None, special=None, count_lines=False):
    """Call namespace[name] on decoded copies of `args`; returns the outcome as plain (encoded) data:
    {"function": describe(...), "value" | "raised", "args": the arguments afterwards, "warnings": [...]}, and
    "lines": how many lines of notebook code ran, when count_lines (a loop over samples shows as more lines)."""
    function = namespace.get(name, MISSING)
    outcome = {"function": describe(function)}
    if not callable(function):
        return outcome
    make = maker(namespace, ask, special)
    values = [codec.decode(a, answer=make) for a in args]
    keywords = {k: codec.decode(v, answer=make) for k, v in (kwargs or {}).items()}
    recorded, me, lines = [], os.getpid(), [0]
    with substituted(namespace, {n: make(n) for n in answered}):
        try:
            with quiet(recorded), counting_lines(function, lines) if count_lines else contextlib.nullcontext():
                result = function(*values, **keywords)
        except BaseException as exc:  # SystemExit included: the student's function ended badly, nothing more
            leave_if_forked(me)
            outcome["raised"] = student_error(exc)
        else:
            leave_if_forked(me)
            outcome["value"] = codec.encode(result)
    outcome["args"] = [codec.encode(v) for v in values]
    outcome["warnings"] = recorded
    if count_lines:
        outcome["lines"] = lines[0]
    return {**outcome, **hooks()}


def hooks():
    """{"hooks": [...]} when a trace or profile hook is set (tracing can rewrite what the runtime reports), else {}."""
    active = [name for name, hook in (("trace", sys.gettrace()), ("profile", sys.getprofile())) if hook is not None]
    return {"hooks": active} if active else {}


def signature(namespace, name):
    """The parameters of namespace[name] and their defaults (plain data), for checks of the documented defaults."""
    function = namespace.get(name, MISSING)
    outcome = {"function": describe(function), "parameters": []}
    if type(function) is types.FunctionType:
        for parameter in inspect.signature(function).parameters.values():
            default = (
                None if parameter.default is inspect.Parameter.empty else {"default": codec.encode(parameter.default)}
            )
            outcome["parameters"].append([parameter.name, default])
    return outcome


def probe(namespace, adapter, args=(), answered=(), ask=None, special=None):
    """Run a lab's adapter (graders/labs/<lab>/probes.py): adapter(namespace, make_proxy, *args) -> a plain value."""
    make = maker(namespace, ask, special)
    values = [codec.decode(a, answer=make) for a in args]
    me = os.getpid()
    with substituted(namespace, {n: make(n) for n in answered}):
        try:
            value = adapter(namespace, make, *values)
        except BaseException as exc:  # the adapter reports the student's errors itself; this is a last resort
            leave_if_forked(me)
            return {"raised": student_error(exc), **hooks()}
        leave_if_forked(me)
        return {"value": codec.encode(value), **hooks()}
