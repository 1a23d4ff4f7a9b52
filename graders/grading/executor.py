"""Run canonical notebooks in sandboxed fork servers (graders/grading/worker.py), with limits and deadlines."""
import os
import resource
import secrets
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from graders.data import DATA_PATH
from graders.grading import protocol

GRADERS_DIR = Path(__file__).resolve().parents[1]
FILES_MOUNT = "/grading-files"
DEFAULT_LIMITS = {
    "as": 3 * 1024 ** 3,      # address space: a memory bomb gets MemoryError, not the machine
    "cpu": 120,               # CPU seconds per submission
    "fsize": 64 * 1024 ** 2,  # largest file it may write
}
MAX_PROCESSES = 64  # per sandbox (server, one submission, whatever it starts): a fork bomb stops there


class SandboxUnavailable(RuntimeError):
    pass


def bwrap_path():
    return shutil.which("bwrap")


def require_sandbox():
    if not bwrap_path():
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, so student code would run with your rights and could read "
            "gradebook.db and the hidden tests.\n  Install it: sudo apt-get install bubblewrap (./run setup "
            "does this)\n  or, knowingly and on trusted submissions only, pass --no-sandbox.")


def _system_binds():
    binds = []
    for path in ("/usr", "/etc", "/bin", "/lib", "/lib64", "/sbin"):
        if os.path.islink(path):
            binds += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            binds += ["--ro-bind", path, path]
    return binds


def sandbox_argv(files, mpl_seed):
    """bwrap options: read-only system and Python, no network, nothing of the course but graders/ and the
    lab's data files, a private /tmp, no capabilities, and everything dies with the grader."""
    argv = [bwrap_path(), "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            *_system_binds(), "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for path in sorted({sys.base_prefix, sys.prefix, str(GRADERS_DIR), str(DATA_PATH.parent), str(mpl_seed)}):
        argv += ["--ro-bind", path, path]
    for name, path in files.items():
        argv += ["--ro-bind", str(path), f"{FILES_MOUNT}/{name}"]
    argv += ["--remount-ro", "/",  # only /tmp (the submission's folder) stays writable
             "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp",
             "--setenv", "GRADING_SANDBOXED", "1", "--chdir", "/tmp"]
    return argv


def prepare_matplotlib_cache(build_dir):
    """Build matplotlib's font cache once on the host; each sandbox copies it instead of rebuilding (~1 s)."""
    seed = Path(build_dir) / "mplconfig"
    if not any(seed.glob("fontlist*.json")):
        seed.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], check=True,
                       env={**os.environ, "MPLCONFIGDIR": str(seed)})
    return seed.resolve()


def _pids_mount():
    """Where the cgroup pids controller is mounted (v1 'pids' or v2 with pids available), or None."""
    for line in Path("/proc/mounts").read_text().splitlines():
        _, mountpoint, kind, options, *_ = line.split()
        if kind == "cgroup" and "pids" in options.split(","):
            return Path(mountpoint)
        if kind == "cgroup2" and "pids" in (Path(mountpoint) / "cgroup.controllers").read_text(errors="ignore"):
            return Path(mountpoint)
    return None


class ProcessCap:
    """A pids cgroup the sandbox starts in (the bound a fork bomb meets), when this user may create one;
    otherwise RLIMIT_NPROC, which the kernel ignores for root but enforces for everyone else."""

    def __init__(self, name):
        mount, self.path = _pids_mount(), None
        if mount is not None:
            try:
                path = mount / f"backprop-grading-{os.getpid()}-{name}"
                path.mkdir(exist_ok=True)
                (path / "pids.max").write_text(str(MAX_PROCESSES))
                self.path = path
            except OSError:
                self.path = None

    @property
    def kind(self):
        return "cgroup" if self.path else "rlimit"

    def enter(self):
        """Run in the sandbox's first process before exec (Popen's preexec_fn)."""
        if self.path:
            (self.path / "cgroup.procs").write_text(str(os.getpid()))
        else:
            resource.setrlimit(resource.RLIMIT_NPROC, (MAX_PROCESSES, MAX_PROCESSES))

    def remove(self):
        if self.path:
            try:
                self.path.rmdir()
            except OSError:
                pass


@dataclass
class RunResult:
    outputs: dict = field(default_factory=dict)     # cell id → nbformat outputs, for the cells that ran
    tampering: list = field(default_factory=list)   # what the integrity check had to undo
    problem: str = ""                               # why the run stopped early ("" when it did not)


class Worker:
    """One fork server, in its own sandbox (or, with sandbox=False, as a plain child process)."""

    def __init__(self, files, build_dir, sandbox=True, limits=None, name="0"):
        self.files, self.sandbox = dict(files), sandbox
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        self.mpl_seed = prepare_matplotlib_cache(build_dir)
        self.cap = ProcessCap(name)
        self.process = None
        self._buffer = b""
        self.start()

    def start(self):
        environment = {"MPLCONFIG_SEED": str(self.mpl_seed), "MPLCONFIGDIR": "/tmp/mplconfig"}
        command = [sys.executable, "-m", "graders.grading.worker"]
        if self.sandbox:
            argv = sandbox_argv(self.files, self.mpl_seed)
            for key, value in environment.items():
                argv += ["--setenv", key, value]
            command, env = argv + command, None
        else:
            env = {**os.environ, **environment, "MPLCONFIGDIR": str(Path(self.mpl_seed).parent / "mplconfig-run")}
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, env=env, start_new_session=True,
                                        preexec_fn=self.cap.enter)
        self._buffer = b""
        ready = self._receive(deadline=_now() + 120)
        if ready != {"ready": True}:
            raise RuntimeError(f"the grading worker did not start: {ready!r}")

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def close(self):
        self.stop()
        for _ in range(50):  # the cgroup can be removed once the kernel has reaped its last process
            self.cap.remove()
            if not (self.cap.path and self.cap.path.exists()):
                return
            time.sleep(0.02)

    def _send(self, message):
        protocol.send(self.process.stdin.fileno(), message)

    def _receive(self, deadline):
        """The next message, or None when the deadline passes or the worker has gone."""
        fd = self.process.stdout.fileno()
        while True:
            if len(self._buffer) >= protocol.HEADER.size:
                (size,) = protocol.HEADER.unpack(self._buffer[:protocol.HEADER.size])
                end = protocol.HEADER.size + size
                if size > protocol.MAX_MESSAGE:
                    return {"garbled": True}
                if len(self._buffer) >= end:
                    payload, self._buffer = self._buffer[protocol.HEADER.size:end], self._buffer[end:]
                    try:
                        return protocol.decode(payload)
                    except ValueError:
                        return {"garbled": True}
            remaining = deadline - _now()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return {"exited": "the sandbox ended"}
            self._buffer += chunk

    def run(self, cells, notebook_timeout=60.0, cell_timeout=30.0):
        """Run (cell_id, source) pairs in order; stop at the first death, timeout or forged reply."""
        result = RunResult()
        self._send({"cmd": "run", "files": {name: f"{FILES_MOUNT}/{name}" if self.sandbox else str(path)
                                            for name, path in self.files.items()},
                    "limits": self.limits})
        started = self._receive(_now() + 30)
        if started != {"started": True}:
            result.problem = f"the kernel did not start ({started!r})"
            self._restart()
            return result
        notebook_deadline = _now() + notebook_timeout
        for cell_id, source in cells:
            nonce = secrets.token_hex(16)
            self._send({"cmd": "cell", "source": source, "nonce": nonce})
            reply = self._receive(min(notebook_deadline, _now() + cell_timeout))
            if reply is None:
                which = "notebook" if _now() >= notebook_deadline else "cell"
                limit = notebook_timeout if which == "notebook" else cell_timeout
                result.problem = f"timed out in cell {cell_id} (the {which} limit is {limit:g} s)"
                self._restart()
                return result
            if "exited" in reply:
                result.problem = f"the kernel died in cell {cell_id} ({reply['exited']})"
                return result
            if reply.get("nonce") != nonce:
                result.problem = f"cell {cell_id} answered with a reply the grader did not ask for (forged output)"
                self._restart()
                return result
            result.outputs[cell_id] = reply["outputs"]
            result.tampering += [f"in cell {cell_id}: {item}" for item in reply["tampering"]]
        self._send({"cmd": "end"})
        if self._receive(_now() + 10) is None:
            self._restart()
        return result

    def _restart(self):
        self.stop()
        self.start()


def _now():
    return time.monotonic()
