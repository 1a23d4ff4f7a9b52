"""The grading sandbox's fork server: warm imports once, then one clean room per submission.

The grader (graders/grading/executor.py) starts `python -m graders.sandbox.server LAB` inside bubblewrap, with a
control socket as its stdin. The server imports numpy, matplotlib, tqdm, IPython's input transformer and the lab's
probes once (the ~0.6 s that would otherwise be paid per student), then serves:

  grader → server  {"cmd": "open", "files": {name: path}, "limits": {...}}, the submission's channel attached
  server → grader  {"opened": true}
  grader → server  {"cmd": "kill"}                    (a timeout, or a reply the grader did not ask for)
  server → grader  {"exited": "exit code 0" | "killed by signal SIGKILL" | ...}

A submission runs in a clean room: a child forked from the warm server enters new user, mount, pid, IPC, network
and UTS namespaces, gets an empty private /tmp and no /proc, drops every capability, and talks to the grader over
its own channel only. It cannot see, signal or trace the server or another submission, and nothing it leaves
(files, processes, threads, changed modules) outlives it.

On the channel (JSON frames, graders/sandbox/wire.py):
  grader → child  {"cmd": "cell", "nonce", "id", "source"}                 child → grader  {"nonce", "outputs"}
  grader → child  {"cmd": "call" | "probe" | "signature", "nonce", ...}      child → grader  {"nonce", "outcome"}
      meanwhile   child → grader  {"nonce", "callback": name, "args", "kwargs"}
                  grader → child  {"cmd": "answer", "nonce", "value", "mutated"} | {"cmd": "refuse", "nonce", "message"}
  grader → child  {"cmd": "end"}
"""

import base64
import ctypes
import importlib
import io
import json
import os
import resource
import select
import shutil
import signal
import socket
import struct
import sys
import time
import traceback
import types

from graders.sandbox import wire

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1,
    2,
    4,
    8,
    32,
    4096,
    0x4000,
    1 << 18,
)
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 24, 38
CAPABILITY_VERSION_3 = 0x20080522
WORKDIR = "/tmp/submission"
SANDBOX_ID = 1000
TMP_SIZE, SHM_SIZE = "256m", "64m"
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


# The figures a cell draws come back as PNG display outputs, as a notebook's inline backend shows them (the
# hand-grader reads the plots): a few per cell, each bounded, so a cell's outputs stay well under wire.MAX_FRAME.
FIGURES_PER_CELL, FIGURE_PIXELS, FIGURE_BYTES = 5, 4_000_000, 1_000_000
CELL_FIGURE_BYTES = 3_000_000  # a cell's figures together: with its streams, the reply stays under wire.MAX_FRAME
_drawn = []


def _figure_output(figure):
    """One open figure as a display output (a PNG), or a line saying why it is not shown."""
    width, height = figure.get_size_inches() * figure.dpi
    if not width * height <= FIGURE_PIXELS:
        return _note(f"[a figure of {width:.0f}x{height:.0f} pixels is not shown: over {FIGURE_PIXELS} pixels]")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=figure.dpi)  # the pixels counted above, whatever rcParams say
    png = buffer.getvalue()
    drawn = sum(len(o["data"]["image/png"]) * 3 // 4 for o in _drawn if o["output_type"] == "display_data")
    if len(png) > min(FIGURE_BYTES, CELL_FIGURE_BYTES - drawn):
        return _note(
            f"[a figure of {len(png)} bytes is not shown: over {FIGURE_BYTES} bytes a figure, "
            f"{CELL_FIGURE_BYTES} a cell]"
        )
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            "image/png": base64.b64encode(png).decode("ascii"),
            "text/plain": f"<Figure size {width:.0f}x{height:.0f} with {len(figure.axes)} Axes>",
        },
    }


def _note(text):
    return {"output_type": "stream", "name": "stdout", "text": text + "\n"}


def _draw_open_figures():
    """What plt.show() does here: draw every open figure (up to FIGURES_PER_CELL a cell), then close it."""
    import matplotlib.pyplot as plt

    for number in plt.get_fignums():
        if len(_drawn) < FIGURES_PER_CELL:
            try:
                _drawn.append(_figure_output(plt.figure(number)))
            except Exception as exc:  # the notebook's figure, its failure: shown, never the grader's
                _drawn.append(_note(f"[a figure could not be drawn: {type(exc).__name__}]"))
        elif len(_drawn) == FIGURES_PER_CELL:
            _drawn.append(_note(f"[more figures are not shown: {FIGURES_PER_CELL} a cell]"))
        plt.close(number)


def drawn_figures():
    """The display outputs of the figures the last cell showed or left open."""
    _draw_open_figures()
    outputs = list(_drawn)
    _drawn.clear()
    return outputs


def preload(lab):
    """Everything a submission imports anyway, done once here instead of once per student."""
    seed, config = os.environ.get("MPLCONFIG_SEED"), os.environ.get("MPLCONFIGDIR")
    if seed and config and not os.path.isdir(config):
        shutil.copytree(seed, config)  # the host-built font cache, writable here
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from IPython.core.inputtransformer2 import TransformerManager

    for name in (
        "base64",
        "hashlib",
        "lzma",
        "math",
        "pickle",
        "warnings",
        "numpy",
        "tqdm",
        "inspect",
        "graders.sandbox.kernel",
        "graders.sandbox.runtime",
    ):
        importlib.import_module(name)
    probes = importlib.import_module(f"graders.labs.{lab}.probes")

    plt.show = lambda *_args, **_kwargs: _draw_open_figures()
    return TransformerManager(), probes


# --- the clean room --------------------------------------------------------------------------------


def _write(path, text):
    with open(path, "w") as handle:
        handle.write(text)


def _enter_namespaces():
    """New user, mount, pid, IPC, network and UTS namespaces (our children get the pid one). Inside, the submission
    is SANDBOX_ID, mapped to our own ids: never root (mapping root would need a capability we have dropped)."""
    uid, gid = os.geteuid(), os.getegid()
    _check(
        _libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS),
        "unshare",
    )
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{SANDBOX_ID} {uid} 1")
    _write("/proc/self/gid_map", f"{SANDBOX_ID} {gid} 1")


def _last_capability():
    try:
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            return int(handle.read())
    except OSError:
        return 63


def _private_filesystem(keep):
    """An empty /tmp and /dev/shm of our own, with the paths in `keep` (the Python installation, where it lives
    under /tmp) bound back read-only; the rest of /dev read-only; /proc covered (the server and other submissions
    are not there to be seen)."""
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make mounts private")
    held = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in keep]
    _check(
        _libc.mount(b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, f"size={TMP_SIZE},mode=0700".encode()),
        "mount /tmp",
    )
    for path, descriptor in held:
        os.makedirs(path, exist_ok=True)
        _check(
            _libc.mount(f"/proc/self/fd/{descriptor}".encode(), path.encode(), None, MS_BIND | MS_REC, None),
            f"bind {path}",
        )
        _check(
            _libc.mount(None, path.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, None),
            f"read-only {path}",
        )
        os.close(descriptor)
    # /dev is the worker's: read-only here (its device nodes still work), with a /dev/shm of our own
    _check(
        _libc.mount(
            b"tmpfs", b"/dev/shm", b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, f"size={SHM_SIZE},mode=1777".encode()
        ),
        "mount /dev/shm",
    )
    _check(
        _libc.mount(None, b"/dev", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, None),
        "read-only /dev",
    )
    _check(
        _libc.mount(b"tmpfs", b"/proc", b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, b"size=4k"),
        "cover /proc",
    )


def _drop_capabilities(last):
    for capability in range(last + 1):
        _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    header = struct.pack("II", CAPABILITY_VERSION_3, 0)
    _check(_libc.capset(header, bytes(24)), "drop capabilities")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no new privileges")


def _limit(limits):
    for name, value in limits.items():
        which = getattr(resource, f"RLIMIT_{name.upper()}")
        resource.setrlimit(which, (value, value))


def _only_fds(keep):
    """Close every inherited descriptor but `keep`; 0, 1 and 2 become /dev/null."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, keep)
    os.closerange(keep + 1, 65536)


def _init(kernel):
    """pid 1 of the clean room: reap every orphan until the kernel ends, then end, which ends every process left."""
    while True:
        pid, status = os.wait()
        if pid == kernel:
            os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))


def enter_clean_room(request, channel_fd, report_fd, isolate):
    """In a child of the server: namespaces, a private /tmp, no capabilities, limits. Returns in the submission's
    kernel process; above it, pid 1 of the new pid namespace reaps orphans, and above that the process that made
    the namespaces reports pid 1's pid (as the server sees it) to report_fd, waits, and passes the status on."""
    if isolate:
        _enter_namespaces()
        last = _last_capability()
        init = os.fork()
        if init:  # the intermediate: holds nothing of the student's
            os.write(report_fd, str(init).encode())
            os.closerange(0, 65536)
            _, status = os.waitpid(init, 0)
            os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))
        _write("/proc/self/oom_score_adj", "1000")  # under memory pressure, the submission goes first
        _private_filesystem(json.loads(os.environ.get("GRADING_KEEP", "[]")))
        _drop_capabilities(last)
        kernel = os.fork()
        if kernel:  # pid 1: a kernel that kills itself dies, as in Jupyter (pid 1 would ignore the signal)
            os.closerange(0, 65536)
            _init(kernel)
    else:
        os.setsid()
        os.write(report_fd, str(os.getpid()).encode())
    _only_fds(channel_fd)
    os.makedirs(WORKDIR, exist_ok=True)
    for name, path in request.get("files", {}).items():
        shutil.copy(path, os.path.join(WORKDIR, os.path.basename(name)))
    os.chdir(WORKDIR)
    _limit(request.get("limits", {}))


# --- the submission's process ----------------------------------------------------------------------------


def _reap(isolated):
    """After each cell: processes the cell started do not outlive it (kill(-1) reaches every process of the clean
    room's pid namespace but its pid 1 and ourselves, and nothing outside it)."""
    if not isolated:
        return
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:  # our own children, until gone (orphans are pid 1's to reap)
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.001)


def serve_submission(channel, transformer, probes, isolated):
    """Cells and grader requests until told to end. Never returns."""
    from graders.sandbox import kernel, runtime

    main = types.ModuleType("__main__")  # notebook code is __main__, as in a kernel
    sys.modules["__main__"] = main
    namespace = vars(main)
    namespace["__builtins__"] = __builtins__
    notebook = kernel.Kernel(namespace, transformer)
    while True:
        message = wire.receive(channel)
        command, nonce = message.get("cmd"), message.get("nonce")

        def ask(name, args, kwargs, nonce=nonce):
            wire.send(channel, {"nonce": nonce, "callback": name, "args": args, "kwargs": kwargs})
            reply = wire.receive(channel)
            if reply.get("cmd") == "answer" and reply.get("nonce") == nonce:
                return reply
            raise runtime.GraderRefused(str(reply.get("message", "the grader did not answer this call")))

        if command == "cell":
            outputs = notebook.run_cell(message["id"], message["source"])
            outputs += drawn_figures()
            _reap(isolated)
            wire.send(channel, {"nonce": nonce, "outputs": outputs})
        elif command == "call":
            outcome = runtime.call(
                namespace,
                message["function"],
                message["args"],
                message["kwargs"],
                message["answered"],
                ask,
                probes.PROXIES,
                message.get("count_lines", False),
            )
            wire.send(channel, {"nonce": nonce, "outcome": outcome})
        elif command == "probe":
            outcome = runtime.probe(
                namespace,
                probes.ADAPTERS[message["adapter"]],
                message["args"],
                message["answered"],
                ask,
                probes.PROXIES,
            )
            wire.send(channel, {"nonce": nonce, "outcome": outcome})
        elif command == "signature":
            wire.send(channel, {"nonce": nonce, "outcome": runtime.signature(namespace, message["function"])})
        else:
            os._exit(0)


# --- the server --------------------------------------------------------------------------------------------


def _receive_request(control):
    """The next {"cmd": ...} on the control socket and the descriptor attached to it (or EOFError)."""
    header, fds, _, _ = socket.recv_fds(control, wire.HEADER.size, 1)
    if len(header) < wire.HEADER.size:
        raise EOFError("the grader has gone")
    (size,) = wire.HEADER.unpack(header)
    body = b""
    while len(body) < size:
        chunk = control.recv(size - len(body))
        if not chunk:
            raise EOFError("the grader has gone")
        body += chunk
    return json.loads(body), fds


def _describe_exit(status):
    if os.WIFSIGNALED(status):
        return f"killed by signal {signal.Signals(os.WTERMSIG(status)).name}"
    code = os.WEXITSTATUS(status)
    if code > 128 and code - 128 in signal.valid_signals():
        return f"killed by signal {signal.Signals(code - 128).name}"
    return f"exit code {code}"


def _submission_pid(report, deadline=30.0):
    """The pid the clean room reports (as the server sees it), or None if it ended before reporting."""
    if not select.select([report], [], [], deadline)[0]:
        return None
    text = os.read(report, 32)
    return int(text) if text.isdigit() else None


def _run_one(control, request, channel_fd, transformer, probes, isolate):
    """Fork the submission's clean room; serve kill requests until it has ended; report how it ended."""
    report, report_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(report)
            enter_clean_room(request, channel_fd, report_write, isolate)
            channel = socket.socket(fileno=channel_fd)
            serve_submission(channel, transformer, probes, isolate)
        except BaseException:  # setting up the clean room failed: say why in the worker's log (stderr until then)
            traceback.print_exc()
        finally:
            os._exit(70)
    os.close(channel_fd)
    os.close(report_write)
    submission = _submission_pid(report)
    os.close(report)
    wire.send(control, {"opened": True})
    watcher = os.pidfd_open(pid)
    try:
        while True:
            ready, _, _ = select.select([watcher, control], [], [])
            if watcher in ready:
                _, status = os.waitpid(pid, 0)
                wire.send(control, {"exited": _describe_exit(status)})
                return
            message, fds = _receive_request(control)
            for fd in fds:
                os.close(fd)
            if message.get("cmd") == "kill":
                # pid 1 of its pid namespace: killing it ends every process the submission started
                if not isolate:
                    os.killpg(pid, signal.SIGKILL)
                for target in {submission, pid} - {None}:
                    try:
                        os.kill(target, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
    finally:
        os.close(watcher)


def serve(lab, isolate):
    transformer, probes = preload(lab)
    control = socket.socket(fileno=0)
    wire.send(control, {"ready": True})
    while True:
        try:
            request, fds = _receive_request(control)
        except EOFError:
            return
        if request.get("cmd") == "open" and len(fds) == 1:
            _run_one(control, request, fds[0], transformer, probes, isolate)
        else:
            for fd in fds:
                os.close(fd)


if __name__ == "__main__":
    serve(sys.argv[1], isolate=sys.argv[2:] != ["--no-isolation"])
