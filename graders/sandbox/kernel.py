"""Running notebook cells as a Jupyter kernel would, in one namespace: streams, results, errors and magics.

Each cell runs under its own file name (`<cell id>`), so tracebacks quote its lines and the grader can tell a
function written in the notebook from one imported from elsewhere.
"""

import ast
import io
import os
import sys
import tempfile
import time
import traceback
import types

from graders.sandbox.runtime import CELL_PREFIX, cell_filename, leave_if_forked, remember_source

STREAM_LIMIT = 100_000  # characters kept per stream and cell; the rest is cut, as nbgrader's LimitOutput does
TRACEBACK_LINE_LIMIT = 10_000
QUIET_MAGICS = ("matplotlib", "config", "load_ext", "autoreload", "pylab")


class _Stream(io.TextIOBase):
    """Collects what Python code writes to sys.stdout / sys.stderr in one cell, up to STREAM_LIMIT."""

    def __init__(self):
        self.parts, self.size = [], 0

    def write(self, text):
        text = text if isinstance(text, str) else str(text)
        if self.size < STREAM_LIMIT:
            self.parts.append(text[: STREAM_LIMIT - self.size])
        self.size += len(text)
        return len(text)

    def isatty(self):
        return False

    def text(self):
        joined = "".join(self.parts)
        return joined + (f"\n[output cut at {STREAM_LIMIT} characters]\n" if self.size > STREAM_LIMIT else "")


class Shell:
    """The part of get_ipython() a course notebook uses: %time, %%time, %%capture and %timeit run their code as
    IPython does; %matplotlib and the like do nothing; shell escapes and other magics are refused."""

    def __init__(self, kernel):
        self.kernel = kernel

    def run_line_magic(self, name, line, *_args):
        if name in QUIET_MAGICS:
            return None
        if name == "time":
            started = time.perf_counter()
            try:
                return self.kernel.execute(line, self.kernel.namespace)
            finally:
                print(f"Wall time: {time.perf_counter() - started:.3g} s")
        if name == "timeit":  # once, in a copy of the namespace: IPython's timeit keeps no definitions either
            self.kernel.execute(line, dict(self.kernel.namespace))
            return None
        raise RuntimeError(f"%{name} is not available while grading")

    def run_cell_magic(self, name, line, cell):
        if name == "time":
            started = time.perf_counter()
            try:
                self.kernel.execute(cell, self.kernel.namespace)
            finally:
                print(f"Wall time: {time.perf_counter() - started:.3g} s")
            return None
        if name == "capture":
            captured = _Stream()
            saved = sys.stdout, sys.stderr
            sys.stdout = sys.stderr = captured
            try:
                self.kernel.execute(cell, self.kernel.namespace)
            finally:
                sys.stdout, sys.stderr = saved
            if line.split():
                self.kernel.namespace[line.split()[0]] = types.SimpleNamespace(
                    stdout=captured.text(), stderr="", outputs=[]
                )
            return None
        if name == "timeit":
            self.kernel.execute(cell, dict(self.kernel.namespace))
            return None
        raise RuntimeError(f"%%{name} is not available while grading")

    def system(self, command, *_args):
        raise RuntimeError(f"shell commands (!{command}) are not available while grading")

    getoutput = system


class Kernel:
    def __init__(self, namespace, transformer):
        self.namespace, self.transformer = namespace, transformer
        self.filename = cell_filename("?")
        shell = Shell(self)
        namespace.setdefault("get_ipython", lambda: shell)
        namespace.setdefault("display", lambda *objects, **_options: print(*map(repr, objects)))

    def _tree(self, source):
        code = self.transformer.transform_cell(source)
        return ast.parse(code, filename=self.filename)

    def execute(self, source, namespace):
        """Run source; a last bare expression is evaluated and returned (a cell's Out[])."""
        tree = self._tree(source)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, self.filename, "exec"), namespace)
        if last is not None:
            return eval(compile(ast.Expression(last.value), self.filename, "eval"), namespace)
        return None

    def run_cell(self, cell_id, source):
        """Execute one cell; returns its nbformat outputs (streams, then a result or an error)."""
        self.filename = cell_filename(cell_id)
        remember_source(self.filename, source)
        me = os.getpid()
        streams = {"stdout": _Stream(), "stderr": _Stream()}
        captured = {fd: tempfile.TemporaryFile() for fd in (1, 2)}  # C-level writes, as ipykernel captures them
        saved = {fd: os.dup(fd) for fd in (1, 2)}
        previous = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = streams["stdout"], streams["stderr"]
        for fd, file in captured.items():
            os.dup2(file.fileno(), fd)
        result = error = None
        try:
            result = self.execute(source, self.namespace)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt included: a kernel reports them too
            error = exc
        finally:
            leave_if_forked(me)
            sys.stdout, sys.stderr = previous
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
        for fd, name in ((1, "stdout"), (2, "stderr")):
            captured[fd].seek(0)
            streams[name].write(captured[fd].read(STREAM_LIMIT).decode(errors="replace"))
            captured[fd].close()
        outputs = [
            {"output_type": "stream", "name": name, "text": streams[name].text()}
            for name in ("stdout", "stderr")
            if streams[name].text()
        ]
        if error is not None:
            outputs.append(_error_output(error))
        elif result is not None:
            outputs.append(
                {
                    "output_type": "execute_result",
                    "execution_count": None,
                    "metadata": {},
                    "data": {"text/plain": _shown(result)},
                }
            )
        return outputs


def _error_output(exc):
    """An error output whose traceback starts at the notebook's own code (the kernel's frames left out)."""
    tb = exc.__traceback__
    while tb is not None and not tb.tb_frame.f_code.co_filename.startswith(CELL_PREFIX):
        tb = tb.tb_next
    try:
        lines = traceback.format_exception(type(exc), exc, tb)
        evalue = str(exc)
    except Exception:  # an exception whose __str__ fails
        lines, evalue = [f"{type(exc).__name__}: (its message could not be read)\n"], "(unreadable)"
    if lines and lines[0].startswith("Traceback"):
        lines = lines[1:]
    return {
        "output_type": "error",
        "ename": type(exc).__name__,
        "evalue": evalue[:STREAM_LIMIT],
        "traceback": [line.rstrip("\n")[:TRACEBACK_LINE_LIMIT] for line in lines][-50:],
    }


def _shown(value):
    try:
        return repr(value)[:STREAM_LIMIT]
    except Exception as exc:  # a student object whose __repr__ fails
        return f"<unprintable {type(value).__name__}: {type(exc).__name__}>"
