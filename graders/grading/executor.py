"""Run submissions in clean rooms of a sandboxed fork server (graders/sandbox/server.py); judge outside.

A Worker starts `python -m graders.sandbox.server LAB` inside bubblewrap — read-only system, no network, nothing
of the course but the sandbox runtime (SANDBOX_FILES, not graders/ whole) and the lab's data files — in a cgroup
that caps its processes and memory, with a control socket. Each submission gets a Session: a fresh channel and a
fresh clean room (own namespaces, own /tmp), per-cell and per-notebook deadlines. A Session is also the `Student`
the lab's checks call (graders/judging.py): requests go out, plain values come back. Every frame is size-bounded
and schema-checked; the first thing out of place ends the session (SessionEnded) and the clean room is killed.
"""

import base64
import binascii
import json
import os
import re
import secrets
import select
import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

from graders import judging
from graders.sandbox import codec, wire
from graders.sandbox.server import FIGURE_BYTES, FIGURE_PIXELS

GRADERS_DIR = Path(__file__).resolve().parents[1]
# The only course code a sandbox sees: how to run cells and call functions, never a reference or an expected value.
SANDBOX_FILES = (
    "sandbox/__init__.py",
    "sandbox/codec.py",
    "sandbox/wire.py",
    "sandbox/runtime.py",
    "sandbox/kernel.py",
    "sandbox/server.py",
)
CODE_MOUNT, FILES_MOUNT = "/grading-code", "/grading-files"
SANDBOX_ID = 1000
DEFAULT_LIMITS = {
    "as": 3 * 1024**3,  # address space: a memory bomb gets MemoryError, not the machine
    "cpu": 120,  # CPU seconds per submission
    "fsize": 64 * 1024**2,  # largest file it may write
    "core": 0,
}
MAX_PROCESSES = 64  # per worker (server, one submission, whatever it starts): a fork bomb stops there
MAX_MEMORY = 4 * 1024**3  # per worker, where a memory cgroup can be made
MAX_SESSION_BYTES = 256 * 1024**2  # everything one submission may send
MAX_CONTAINERS = 200_000  # lists and objects in one frame: what parsing it may cost the grader
STARTUP_SECONDS = 120.0
OUTPUT_TYPES = {
    "stream": {"name", "text"},
    "error": {"ename", "evalue", "traceback"},
    "execute_result": {"data", "metadata", "execution_count"},
    "display_data": {"data", "metadata"},
}
BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
NOTEBOOK_FIGURES, NOTEBOOK_FIGURE_BYTES = 20, 8 * 1024**2  # figures one autograded copy keeps (base64 bytes)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEXT_LIMIT = 100_000


class SandboxUnavailable(RuntimeError):
    pass


class SessionEnded(Exception):
    """A submission's run ended early; the reason is for the report."""


def bwrap_path():
    return shutil.which("bwrap")


def require_sandbox():
    if not bwrap_path():
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, so student code would run with your rights and could read "
            "gradebook.db and the hidden tests.\n  Install it: sudo apt-get install bubblewrap (./run setup "
            "does this)\n  or, knowingly and on trusted submissions only, pass --no-sandbox."
        )


def sandbox_code(folder, lab):
    """`folder`, made to hold exactly SANDBOX_FILES and the lab's probes (empty package __init__ files besides)."""
    root = Path(folder)
    shutil.rmtree(root, ignore_errors=True)
    for relative in (*SANDBOX_FILES, f"labs/{lab}/probes.py"):
        target = root / "graders" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(GRADERS_DIR / relative, target)
    for package in ("", "labs", f"labs/{lab}"):
        (root / "graders" / package / "__init__.py").write_text("")
    return root.resolve()


def _system_binds():
    binds = []
    for path in ("/usr", "/bin", "/lib", "/lib64", "/sbin"):
        if os.path.islink(path):
            binds += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            binds += ["--ro-bind", path, path]
    # Of /etc only what the dynamic loader needs: no passwords, keys or host configuration.
    return binds + ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]


def python_paths():
    """What the interpreter imports from: its installation, its venv, and any site-packages folder on its path."""
    sites = {p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages") and os.path.isdir(p)}
    return sorted({sys.base_prefix, sys.prefix, *sites})


def sandbox_argv(code, files, mpl_seed):
    """bwrap options: read-only system and Python, no network, nothing of the course but the sandbox runtime and
    the lab's data files, a private /tmp, no capabilities, and everything dies with the grader."""
    # --uid: inside, the server is an ordinary user mapped to ours, so each clean room can map it again without any
    # capability (a root mapping would need CAP_SETFCAP, which --cap-drop ALL removes).
    argv = [
        bwrap_path(),
        "--unshare-all",
        "--unshare-user",
        "--uid",
        str(SANDBOX_ID),
        "--gid",
        str(SANDBOX_ID),
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        *_system_binds(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
    ]
    for path in sorted({*python_paths(), str(mpl_seed)}):
        argv += ["--ro-bind", path, path]
    argv += ["--ro-bind", str(code), CODE_MOUNT]
    for name, path in files.items():
        argv += ["--ro-bind", str(path), f"{FILES_MOUNT}/{name}"]
    # Each clean room mounts an empty /tmp: what the sandbox binds under /tmp (a Python installation in a clone
    # there, say) is bound back into it.
    keep = [path for path in python_paths() if path.startswith("/tmp/")]
    argv += [
        "--remount-ro",
        "/",
        "--clearenv",
        "--setenv",
        "GRADING_KEEP",
        json.dumps(keep),
        "--setenv",
        "PATH",
        "/usr/bin:/bin",
        "--setenv",
        "HOME",
        "/tmp",
        "--setenv",
        "PYTHONPATH",
        CODE_MOUNT,
        "--setenv",
        "MPLCONFIG_SEED",
        str(mpl_seed),
        "--setenv",
        "MPLCONFIGDIR",
        "/tmp/mplconfig",
        "--chdir",
        "/tmp",
    ]
    return argv


def prepare_matplotlib_cache(build_dir):
    """Build matplotlib's font cache once on the host; each sandbox copies it instead of rebuilding (~1 s)."""
    seed = Path(build_dir) / "mplconfig"
    if not any(seed.glob("fontlist*.json")):
        seed.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-c", "import matplotlib.font_manager"],
            check=True,
            env={**os.environ, "MPLCONFIGDIR": str(seed)},
        )
    return seed.resolve()


# --- the cgroup a worker runs in ------------------------------------------------------------------------


def _controllers():
    """{controller: the folder new cgroups of it go in} for pids and memory (cgroup v1 or v2), where mounted."""
    found = {}
    for line in Path("/proc/mounts").read_text().splitlines():
        _, mountpoint, kind, options, *_ = line.split()
        if kind == "cgroup":
            for controller in ("pids", "memory"):
                if controller in options.split(","):
                    found.setdefault(controller, Path(mountpoint))
        elif kind == "cgroup2":
            available = (Path(mountpoint) / "cgroup.subtree_control").read_text(errors="ignore").split()
            for controller in ("pids", "memory"):
                if controller in available:
                    found.setdefault(controller, Path(mountpoint))
    return found


class Cgroup:
    """The pids (and, where it can be made, memory) cgroup a worker starts in: the bound a fork bomb or a memory
    hog meets. Without a pids cgroup, RLIMIT_NPROC, which the kernel ignores for root but enforces for others."""

    LIMIT_FILES = {
        "pids": {"v1": "pids.max", "v2": "pids.max"},
        "memory": {"v1": "memory.limit_in_bytes", "v2": "memory.max"},
    }

    def __init__(self, name):
        self.paths = []
        limits = {"pids": MAX_PROCESSES, "memory": MAX_MEMORY}
        for controller, mount in _controllers().items():
            for stale in mount.glob("backprop-grading-*-*"):  # left by a grader that was killed: empty by now
                if not Path(f"/proc/{stale.name.split('-')[2]}").exists():
                    try:
                        stale.rmdir()
                    except OSError:
                        pass
            path = mount / f"backprop-grading-{os.getpid()}-{name}"
            version = "v2" if (mount / "cgroup.subtree_control").exists() else "v1"
            try:
                path.mkdir(exist_ok=True)
                (path / self.LIMIT_FILES[controller][version]).write_text(str(limits[controller]))
            except OSError:
                try:
                    path.rmdir()
                except OSError:
                    pass
                continue
            if path not in self.paths:
                self.paths.append(path)
        self.pids = any((p / "pids.max").exists() for p in self.paths)

    @property
    def kind(self):
        return "cgroup" if self.pids else "rlimit"

    def enter(self):
        """Run in the sandbox's first process before exec (Popen's preexec_fn)."""
        import resource

        for path in self.paths:
            (path / "cgroup.procs").write_text(str(os.getpid()))
        if not self.pids:
            resource.setrlimit(resource.RLIMIT_NPROC, (MAX_PROCESSES, MAX_PROCESSES))

    def remove(self):
        for path in self.paths:
            for _ in range(50):  # removable once the kernel has reaped the last process in it
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


# --- frames with deadlines ----------------------------------------------------------------------------------


class Channel:
    """Reads length-prefixed JSON frames from a socket with a deadline and a total byte budget."""

    def __init__(self, sock, budget=MAX_SESSION_BYTES):
        self.sock, self.buffer, self.budget = sock, b"", budget
        sock.setblocking(False)

    def send(self, message, deadline):
        """Send a frame; TimeoutError when the other side stops reading before the deadline."""
        data = memoryview(wire.frame(message))
        while data:
            try:
                data = data[self.sock.send(data) :]
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not select.select([], [self.sock], [], remaining)[1]:
                    raise TimeoutError from None

    def receive(self, deadline):
        """The next frame as parsed JSON; SessionEnded on timeout, end of stream, size or JSON violations."""
        while True:
            if len(self.buffer) >= wire.HEADER.size:
                (size,) = wire.HEADER.unpack(self.buffer[: wire.HEADER.size])
                if size > wire.MAX_FRAME:
                    raise SessionEnded(f"sent a message of {size} bytes, over the limit of {wire.MAX_FRAME}")
                end = wire.HEADER.size + size
                if len(self.buffer) >= end:
                    payload, self.buffer = self.buffer[wire.HEADER.size : end], self.buffer[end:]
                    if payload.count(b"[") + payload.count(b"{") > MAX_CONTAINERS:
                        raise SessionEnded(f"sent a message of more than {MAX_CONTAINERS} lists and objects")
                    try:
                        return json.loads(payload)
                    except (ValueError, RecursionError):
                        raise SessionEnded("sent a message that is not JSON") from None
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.sock], [], [], remaining)[0]:
                raise TimeoutError
            try:
                chunk = self.sock.recv(1 << 20)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            if not chunk:
                raise EOFError
            self.budget -= len(chunk)
            if self.budget < 0:
                raise SessionEnded(f"sent more than {MAX_SESSION_BYTES} bytes in all")
            self.buffer += chunk


def _clean_text(value, limit=TEXT_LIMIT):
    """A string from the sandbox, safe to store: bounded, no lone surrogates, no NUL."""
    if type(value) is not str:
        raise SessionEnded("sent an output field that is not text")
    text = value[:limit]
    if any("\ud800" <= c <= "\udfff" or c == "\0" for c in text):
        text = "".join("\ufffd" if "\ud800" <= c <= "\udfff" or c == "\0" else c for c in text)
    return text


def clean_outputs(outputs):
    """Cell outputs as the grader keeps them: streams, errors and plain-text results only, every field checked."""
    if type(outputs) is not list or len(outputs) > 100:
        raise SessionEnded("sent cell outputs that are not a short list")
    cleaned = []
    for output in outputs:
        kind = output.get("output_type") if type(output) is dict else None
        if type(kind) is not str or kind not in OUTPUT_TYPES:
            raise SessionEnded(f"sent an output of an unknown kind ({str(kind)[:40]!r})")
        if kind == "stream":
            name = output.get("name")
            if name not in ("stdout", "stderr"):
                raise SessionEnded("sent a stream that is neither stdout nor stderr")
            cleaned.append({"output_type": kind, "name": name, "text": _clean_text(output.get("text"))})
        elif kind == "error":
            traceback = output.get("traceback")
            if type(traceback) is not list:
                raise SessionEnded("sent an error without a traceback list")
            cleaned.append(
                {
                    "output_type": kind,
                    "ename": _clean_text(output.get("ename"), 200),
                    "evalue": _clean_text(output.get("evalue")),
                    "traceback": [_clean_text(line) for line in traceback[:60]],
                }
            )
        elif kind == "display_data":
            data = output.get("data")
            if type(data) is not dict or set(data) != {"image/png", "text/plain"}:
                raise SessionEnded("sent a display output that is not a figure")
            figure = {"image/png": _png(data["image/png"]), "text/plain": _clean_text(data["text/plain"])}
            cleaned.append({"output_type": kind, "metadata": {}, "data": figure})
        else:
            data = output.get("data")
            if type(data) is not dict or set(data) != {"text/plain"}:
                raise SessionEnded("sent a result that is not plain text")
            cleaned.append(
                {
                    "output_type": kind,
                    "execution_count": None,
                    "metadata": {},
                    "data": {"text/plain": _clean_text(data["text/plain"])},
                }
            )
    return cleaned


def _png(value):
    """A figure from the sandbox as the grader keeps it: base64 of a PNG of bounded size and pixel count, nothing
    else (the formgrader and feedback put it in an <img src="data:…"> as it is)."""
    if type(value) is not str or len(value) > 2 * FIGURE_BYTES or not BASE64.fullmatch(value):
        raise SessionEnded("sent a figure that is not base64 of bounded size")
    try:
        png = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise SessionEnded("sent a figure that is not valid base64") from None
    if not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR":
        raise SessionEnded("sent a figure that is not a PNG")
    width, height = struct.unpack(">II", png[16:24])
    if width * height > FIGURE_PIXELS:
        raise SessionEnded(f"sent a figure of {width}x{height} pixels, over {FIGURE_PIXELS}")
    return value


def _within_budget(outputs, budget):
    """The figures of one cell that fit what is left of the notebook's figure budget ([count, bytes] left, updated);
    the rest become a line saying so. The sandbox bounds them too, but the sandbox is the student's."""
    kept = []
    for output in outputs:
        if output["output_type"] == "display_data":
            size = len(output["data"]["image/png"])
            if budget[0] < 1 or budget[1] < size:
                kept.append(
                    {
                        "output_type": "stream",
                        "name": "stdout",
                        "text": "[a figure is not shown: over the notebook's figure budget]\n",
                    }
                )
                continue
            budget[0], budget[1] = budget[0] - 1, budget[1] - size
        kept.append(output)
    return kept


# --- one submission -----------------------------------------------------------------------------------------


class Session(judging.Student):
    """One submission's clean room, seen from the grader: cells to run, and calls for the lab's checks."""

    def __init__(self, worker, sock, notebook_timeout, cell_timeout):
        self.worker, self.channel = worker, Channel(sock)
        self.notebook_deadline = time.monotonic() + notebook_timeout
        self.notebook_timeout, self.cell_timeout = notebook_timeout, cell_timeout
        self.where, self.open = "", True
        self.hooks = set()  # trace/profile hooks seen while the checks called the notebook (best-effort, reported)
        self.figure_budget = [NOTEBOOK_FIGURES, NOTEBOOK_FIGURE_BYTES]  # what the autograded copy may hold

    def _deadline(self):
        return min(self.notebook_deadline, time.monotonic() + self.cell_timeout)

    def _end(self, reason):
        """Kill the clean room and raise SessionEnded with the reason."""
        self.open = False
        self.channel.sock.close()
        exited = self.worker.kill_child()
        raise SessionEnded(reason.format(exited=exited))

    def _receive(self, deadline):
        try:
            return self.channel.receive(deadline)
        except TimeoutError:
            self._timed_out()
        except EOFError:
            raise self._died() from None
        except SessionEnded as exc:
            self._end(f"{self.where} {exc}")

    def _send(self, message, deadline):
        try:
            self.channel.send(message, deadline)
        except TimeoutError:
            self._timed_out()
        except OSError:
            raise self._died() from None

    def _died(self):
        self.open = False
        self.channel.sock.close()
        return SessionEnded(f"the kernel died in {self.where} ({self.worker.wait_child()})")

    def _timed_out(self):
        which = "notebook" if time.monotonic() >= self.notebook_deadline else "cell"
        limit = self.notebook_timeout if which == "notebook" else self.cell_timeout
        self._end(f"timed out in {self.where} (the {which} limit is {limit:g} s)")

    def _exchange(self, message, answering=None):
        """Send a request; answer its callbacks; return the reply (its nonce checked)."""
        nonce = secrets.token_hex(16)
        deadline = self._deadline()
        self._send({**message, "nonce": nonce}, deadline)
        while True:
            reply = self._receive(deadline)
            if type(reply) is not dict or reply.get("nonce") != nonce:
                self._end(f"{self.where} answered with a reply the grader did not ask for (forged output)")
            if "callback" not in reply:
                return reply
            name, args, kwargs = reply.get("callback"), reply.get("args"), reply.get("kwargs")
            if answering is None or type(name) is not str or type(args) is not list or type(kwargs) is not dict:
                self._end(f"{self.where} sent a call the grader did not expect")
            try:
                answer = {"cmd": "answer", "nonce": nonce, **answering(name, args, kwargs)}
            except judging.Refused as exc:
                answer = {"cmd": "refuse", "nonce": nonce, "message": str(exc)[:1000]}
            self._send(answer, deadline)

    def run_cell(self, cell_id, source):
        """The cell's outputs (cleaned), or SessionEnded."""
        self.where = f"cell {cell_id}"
        reply = self._exchange({"cmd": "cell", "id": cell_id, "source": source})
        if set(reply) != {"nonce", "outputs"}:
            self._end(f"{self.where} sent a reply of another shape")
        try:
            return _within_budget(clean_outputs(reply["outputs"]), self.figure_budget)
        except SessionEnded as exc:
            self._end(f"{self.where} {exc}")

    def checking(self, cell_id):
        self.where = f"cell {cell_id}"

    def _outcome(self, message, answering):
        reply = self._exchange(message, answering)
        if set(reply) != {"nonce", "outcome"} or type(reply["outcome"]) is not dict:
            self._end(f"{self.where} sent a reply of another shape")
        hooks = reply["outcome"].get("hooks", [])
        if type(hooks) is not list or not all(h in ("trace", "profile") for h in hooks):
            self._end(f"{self.where} sent a malformed outcome")
        self.hooks.update(hooks)
        return reply["outcome"]

    def call(self, name, *args, answers=None, count_lines=False, **kwargs):
        answering = judging.Answering(judging.answers_in(args, kwargs, answers))
        raw = self._outcome(
            {
                "cmd": "call",
                "function": name,
                "args": [codec.encode(a) for a in args],
                "kwargs": {k: codec.encode(v) for k, v in kwargs.items()},
                "answered": sorted(answers or {}),
                "count_lines": count_lines,
            },
            answering,
        )
        return self._parsed(lambda n, value: judging.parse_outcome(n, value, len(args)), name, raw)

    def probe(self, adapter, *args, answers=None):
        answering = judging.Answering(judging.answers_in(args, {}, answers))
        raw = self._outcome(
            {
                "cmd": "probe",
                "adapter": adapter,
                "args": [codec.encode(a) for a in args],
                "answered": sorted(answers or {}),
            },
            answering,
        )
        return self._parsed(lambda _, value: judging.parse_probe(value), adapter, raw)

    def signature(self, name):
        return self._parsed(judging.parse_signature, name, self._outcome({"cmd": "signature", "function": name}, None))

    def _parsed(self, parse, name, raw):
        try:
            return parse(name, raw)
        except judging.ProtocolError as exc:
            self._end(f"{self.where} sent a malformed outcome ({exc})")

    def finish(self):
        """Tell the clean room to end and wait until it has."""
        if not self.open:
            return
        self.open = False
        try:
            self.channel.send({"cmd": "end"}, time.monotonic() + 1.0)
        except (OSError, TimeoutError):
            pass
        self.channel.sock.close()
        self.worker.wait_child()


# --- the worker ---------------------------------------------------------------------------------------------


class Worker:
    """One fork server, in its own sandbox (or, with sandbox=False, a plain child process without clean rooms)."""

    def __init__(self, lab, files, build_dir, sandbox=True, limits=None, name="0"):
        self.lab, self.files, self.sandbox, self.name = lab, dict(files), sandbox, name
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        self.build_dir = Path(build_dir)
        self.mpl_seed = prepare_matplotlib_cache(build_dir)
        self.code = sandbox_code(self.build_dir / "sandbox-code" / f"{lab}-{name}", lab)
        self.cgroup = Cgroup(name) if sandbox else None
        self.process = self.control = None
        self.start()

    def start(self, attempts=2):
        """Start the fork server; one that dies before it is ready is started once more (a transient failure of
        one worker must not stop the class), then SandboxUnavailable with the end of its log."""
        log_path = self.build_dir / f"worker-{self.lab}-{self.name}.log"
        for _ in range(attempts):
            if self._started(log_path):
                return
        said = log_path.read_text(errors="replace").strip().splitlines()[-5:] if log_path.exists() else []
        raise SandboxUnavailable(
            f"the grading worker did not start (see {log_path})" + "".join(f"\n  {line}" for line in said)
        )

    def _started(self, log_path):
        host, server = socket.socketpair()
        if self.sandbox:
            command = [
                *sandbox_argv(self.code, self.files, self.mpl_seed),
                sys.executable,
                "-m",
                "graders.sandbox.server",
                self.lab,
            ]
            env, preexec = None, self.cgroup.enter
        else:
            command = [sys.executable, "-m", "graders.sandbox.server", self.lab, "--no-isolation"]
            env = {
                **os.environ,
                "PYTHONPATH": str(self.code),
                "MPLCONFIG_SEED": str(self.mpl_seed),
                "MPLCONFIGDIR": str(self.build_dir / f"mplconfig-run-{self.name}"),
            }
            preexec = None
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                stdin=server,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=env,
                start_new_session=True,
                preexec_fn=preexec,
            )
        server.close()
        self.control = Channel(host, budget=float("inf"))
        try:
            ready = self.control.receive(time.monotonic() + STARTUP_SECONDS)
        except (TimeoutError, EOFError, SessionEnded):
            ready = None
        if ready != {"ready": True}:
            self.stop()
        return ready == {"ready": True}

    def open(self, notebook_timeout, cell_timeout):
        """A new clean room and its channel; a worker that does not answer is replaced (once)."""
        files = {name: f"{FILES_MOUNT}/{name}" if self.sandbox else str(path) for name, path in self.files.items()}
        message = wire.frame({"cmd": "open", "files": files, "limits": self.limits})
        for _ in range(2):
            host, child = socket.socketpair()
            try:
                socket.send_fds(self.control.sock, [message], [child.fileno()])
                opened = self.control.receive(time.monotonic() + 30)
            except (OSError, TimeoutError, EOFError, SessionEnded):
                opened = None
            child.close()
            if opened == {"opened": True}:
                return Session(self, host, notebook_timeout, cell_timeout)
            host.close()
            self.restart()
        raise SessionEnded("the grading worker could not open a clean room (it was replaced twice)")

    def wait_child(self, seconds=10.0):
        """How the clean room ended ("exit code 0", ...); after `seconds`, it is killed (or the worker restarted)."""
        try:
            exited = self.control.receive(time.monotonic() + seconds)
        except TimeoutError:
            return self.kill_child()
        except (EOFError, SessionEnded):
            self.restart()
            return "the grading worker died (it was restarted)"
        if type(exited) is not dict or type(exited.get("exited")) is not str:
            self.restart()
            return "the grading worker misbehaved (it was restarted)"
        return exited["exited"]

    def kill_child(self):
        try:
            self.control.send({"cmd": "kill"}, time.monotonic() + 10)
            exited = self.control.receive(time.monotonic() + 10)
            return exited["exited"]
        except (OSError, TimeoutError, EOFError, SessionEnded, KeyError, TypeError):
            self.restart()
            return "the grading worker was restarted"

    def stop(self):
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, 9)
            except ProcessLookupError:
                pass
            self.process.wait()
        if self.control:
            self.control.sock.close()

    def restart(self):
        self.stop()
        self.start()

    def close(self):
        self.stop()
        if self.cgroup:
            self.cgroup.remove()
