"""The executor that runs inside the sandbox: a fork server with the course's imports already done.

`python -m graders.grading.worker` imports numpy, matplotlib, tqdm and the graders once (the ~1 s that
otherwise dominates grading), snapshots the modules the hidden checks rely on, and then serves
submissions: for each one it forks a child with fresh memory, a fresh working folder and resource limits.
The grader sends the child one cell at a time, each with a nonce, so student code never sees the cells
after it, and a test cell's result must echo a nonce that exists only once that cell is sent.

Messages (graders.grading.protocol) on stdin/stdout:
  grader → server  {"cmd": "run", "files": {name: path}, "limits": {...}}
  child  → grader  {"started": true}
  grader → child   {"cmd": "cell", "source": str, "nonce": str} ... then {"cmd": "end"}
  child  → grader  {"nonce": str, "outputs": [nbformat outputs], "tampering": [str]}
  server → grader  {"exited": str}   when the child is gone (ended, killed, or died)
"""
import ast
import builtins
import io
import os
import resource
import shutil
import signal
import sys
import tempfile
import traceback
import types

# Bound here, as module globals, so that a student's patch of builtins cannot reach the executor.
from builtins import any, dict, getattr, id, isinstance, len, repr, set, sorted, str, type, vars  # noqa: E402,A004

PROTOCOL_IN, PROTOCOL_OUT = 0, 1
STREAM_LIMIT = 100_000  # characters kept per stream and cell; the rest is cut, as nbgrader's LimitOutput does


def preload():
    """Everything a submission imports anyway, done once in the server instead of once per student."""
    seed = os.environ.get("MPLCONFIG_SEED")
    if seed and not os.path.isdir(os.environ["MPLCONFIGDIR"]):
        shutil.copytree(seed, os.environ["MPLCONFIGDIR"])  # the host-built font cache, writable here
    import importlib

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from IPython.core.inputtransformer2 import TransformerManager

    for name in ("hashlib", "math", "pickle", "warnings", "numpy", "tqdm"):  # what the notebooks import
        importlib.import_module(name)

    from graders.course import LABS

    for lab in LABS:  # every lab's hidden checks, and what they share (data, reference curves), once
        hidden = importlib.import_module(f"graders.{lab}.hidden")
        getattr(hidden, "warm", lambda: None)()

    def show(*_args, **_kwargs):
        """Grading needs no pixels: close the figures instead of rendering them."""
        for number in plt.get_fignums():
            plt.close(number)

    plt.show = show
    shutil.rmtree(tempfile.mkdtemp())  # tempfile sets module globals on first use: before the snapshot
    tempfile.TemporaryFile().close()
    return TransformerManager()


# --- integrity: what student code may not change -------------------------------------------------

PROTECTED_PREFIXES = ("numpy", "math", "builtins", "warnings", "contextlib", "io", "graders", "collections",
                      "json", "functools", "inspect", "operator", "os", "posix", "struct", "select", "signal",
                      "tempfile", "shutil", "types", "ast", "traceback")


def _protected_modules():
    return {name: module for name, module in sys.modules.items()
            if module is not None and name.split(".")[0] in PROTECTED_PREFIXES}


class Snapshot:
    """Module dictionaries and function code of the protected modules, taken before any student code runs."""

    def __init__(self):
        self.modules = _protected_modules()
        self.namespaces = {name: dict(vars(module)) for name, module in self.modules.items()}
        self.code = {}
        for name, namespace in self.namespaces.items():
            for attribute, value in namespace.items():
                if isinstance(value, types.FunctionType):
                    self.code[id(value)] = (f"{name}.{attribute}", value, value.__code__, value.__defaults__,
                                            value.__kwdefaults__)

    def restore(self):
        """Put every protected name back; returns what had been changed (empty for an honest notebook)."""
        changed = []
        for name, module in self.modules.items():
            if sys.modules.get(name) is not module:
                changed.append(f"sys.modules['{name}'] replaced")
                sys.modules[name] = module
            current, original = vars(module), self.namespaces[name]
            for attribute in set(current) | set(original):
                if attribute == "__warningregistry__" or (name == "builtins" and attribute == "_"):
                    continue
                if attribute not in original:
                    value = current[attribute]
                    if isinstance(value, types.ModuleType) and value.__name__ == f"{name}.{attribute}":
                        continue  # a submodule imported on first use (numpy.random, numpy.core): not tampering
                    changed.append(f"{name}.{attribute} added")
                    del current[attribute]
                elif current.get(attribute, changed) is not original[attribute]:
                    changed.append(f"{name}.{attribute} replaced")
                    current[attribute] = original[attribute]
        for label, function, code, defaults, kwdefaults in self.code.values():
            if (function.__code__, function.__defaults__, function.__kwdefaults__) != (code, defaults, kwdefaults):
                changed.append(f"{label} code changed")
                function.__code__, function.__defaults__, function.__kwdefaults__ = code, defaults, kwdefaults
        return sorted(set(changed))


# --- running one cell like a Jupyter kernel would ---------------------------------------------------

class _Stream:
    """Collects what Python code writes to sys.stdout / sys.stderr in one cell."""

    def __init__(self, name):
        self.name, self.parts, self.size = name, [], 0

    def write(self, text):
        text = str(text)
        if self.size < STREAM_LIMIT:
            self.parts.append(text[: STREAM_LIMIT - self.size])
        self.size += len(text)
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False

    def text(self):
        joined = "".join(self.parts)
        return joined + (f"\n[output cut at {STREAM_LIMIT} characters]\n" if self.size > STREAM_LIMIT else "")


class _Shell:
    """The part of get_ipython() a course notebook uses: %matplotlib is a no-op, shell escapes are refused."""

    def run_line_magic(self, name, line, *_args):
        if name in ("matplotlib", "config", "load_ext", "autoreload", "time", "timeit"):
            return None
        raise RuntimeError(f"%{name} is not available while grading")

    run_cell_magic = run_line_magic

    def system(self, command, *_args):
        raise RuntimeError(f"shell commands (!{command}) are not available while grading")

    getoutput = system


def _error_output(exc):
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return {"output_type": "error", "ename": type(exc).__name__, "evalue": str(exc),
            "traceback": [line.rstrip("\n") for line in lines[1:]]}  # without the executor's own frame


def run_cell(source, namespace, transformer, snapshot):
    """Execute one cell in namespace; returns (nbformat outputs, what the cell changed in protected modules)."""
    streams = {"stdout": _Stream("stdout"), "stderr": _Stream("stderr")}
    captured = {fd: tempfile.TemporaryFile() for fd in (1, 2)}   # C-level writes, as ipykernel captures them
    saved = {fd: os.dup(fd) for fd in (0, 1, 2)}                 # fd 0 and 1 carry the protocol between cells
    outputs, result, me = [], None, os.getpid()
    sys.stdout, sys.stderr, sys.stdin = streams["stdout"], streams["stderr"], io.StringIO()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    for fd, file in captured.items():
        os.dup2(file.fileno(), fd)
    try:
        code = transformer.transform_cell(source)
        tree = ast.parse(code, filename="<cell>")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<cell>", "exec"), namespace)
        if last is not None:
            result = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt included: a kernel reports them too
        error = exc
    else:
        error = None
    finally:
        tampering = snapshot.restore()  # first of all: the executor below needs numpy/os/builtins intact
        if os.getpid() != me:  # a process the student's code forked: it must never reach the protocol
            os._exit(0)
        sys.stdout, sys.stderr, sys.stdin = sys.__stdout__, sys.__stderr__, sys.__stdin__
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
    if error is not None:
        outputs.append(_error_output(error))
    for fd, name in ((1, "stdout"), (2, "stderr")):
        captured[fd].seek(0)
        streams[name].write(captured[fd].read(STREAM_LIMIT).decode(errors="replace"))
        captured[fd].close()
    streamed = [{"output_type": "stream", "name": name, "text": streams[name].text()}
                for name in ("stdout", "stderr") if streams[name].text()]
    outputs = streamed + outputs
    if result is not None and not any(o["output_type"] == "error" for o in outputs):
        outputs.append({"output_type": "execute_result", "execution_count": None, "metadata": {},
                        "data": {"text/plain": _shown(result)}})
    return outputs, tampering


def _shown(value):
    try:
        return repr(value)[:STREAM_LIMIT]
    except Exception as exc:  # a student object whose __repr__ fails
        return f"<unprintable {type(value).__name__}: {exc}>"


# --- the server and its children ---------------------------------------------------------------------

def _limit(limits):
    for name, value in limits.items():
        which = getattr(resource, f"RLIMIT_{name.upper()}")
        resource.setrlimit(which, (value, value))


def child(request, workdir, snapshot, transformer, sandboxed):
    """One submission: fresh folder, limits, then cells until told to end. Never returns."""
    from graders.grading import protocol

    os.setsid()
    for name, path in request.get("files", {}).items():
        shutil.copy(path, os.path.join(workdir, name))
    os.chdir(workdir)
    _limit(request.get("limits", {}))
    namespace = {"__name__": "__main__", "__builtins__": builtins, "get_ipython": _Shell}
    protocol.send(PROTOCOL_OUT, {"started": True})
    while True:
        message = protocol.receive(PROTOCOL_IN)
        if message["cmd"] != "cell":
            os._exit(0)
        # After every cell, whatever student code did to numpy, builtins, os or the graders is undone.
        outputs, tampering = run_cell(message["source"], namespace, transformer, snapshot)
        if sandboxed:  # processes the cell started do not outlive it
            _kill_strays(keep={1, os.getppid(), os.getpid()})
        protocol.send(PROTOCOL_OUT, {"nonce": message["nonce"], "outputs": outputs, "tampering": tampering})


def _kill_strays(keep):
    """Kill every process in this sandbox's pid namespace but `keep` (a fork bomb's remains), until none are left."""
    for _ in range(100):
        strays = [int(e) for e in os.listdir("/proc") if e.isdigit() and int(e) not in keep]
        if not strays:
            return
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def serve():
    from graders.grading import protocol

    transformer = preload()
    snapshot = Snapshot()
    sandboxed = os.environ.get("GRADING_SANDBOXED") == "1"
    protocol.send(PROTOCOL_OUT, {"ready": True})
    while True:
        try:
            request = protocol.receive(PROTOCOL_IN)
        except EOFError:
            return
        workdir = tempfile.mkdtemp(prefix="submission-")
        pid = os.fork()
        if pid == 0:
            try:
                child(request, workdir, snapshot, transformer, sandboxed)
            finally:
                os._exit(70)
        _, status = os.waitpid(pid, 0)
        if sandboxed:
            _kill_strays(keep={1, os.getpid()})
        shutil.rmtree(workdir, ignore_errors=True)
        if os.WIFSIGNALED(status):
            exited = f"killed by signal {signal.Signals(os.WTERMSIG(status)).name}"
        else:
            exited = f"exit code {os.WEXITSTATUS(status)}"
        protocol.send(PROTOCOL_OUT, {"exited": exited})


if __name__ == "__main__":
    serve()
