"""Host-side work on one student's files, each in a forked child with a time and memory bound.

Reading and repairing a submission is our code on untrusted data: a file that makes it recurse too deep, run out
of memory or take too long must cost that student alone. `run_each` forks a child per job (a few at a time), gives
it a wall clock and an address-space limit, and returns each job's JSON result or the reason it has none.
"""

import json
import os
import resource
import select
import signal
import time

RESULT_LIMIT = 256 * 1024**2


def _child(function, args, write, memory):
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        result = {"ok": function(*args)}
    except BaseException as exc:  # whatever it is, it is this job's failure and nobody else's
        result = {"failed": f"{type(exc).__name__}: {exc}"[:500]}
    try:  # the child never returns into the caller's code, whatever serializing or writing raises
        try:
            data = json.dumps(result).encode()
        except (TypeError, ValueError) as exc:
            data = json.dumps({"failed": f"a result that is not JSON ({exc})"}).encode()
        view = memoryview(data)
        while view:
            view = view[os.write(write, view) :]
    finally:
        os._exit(0)


def run_each(jobs, function, timeout, memory=2 * 1024**3, parallel=None):
    """{key: ("ok", result) or ("failed", reason)} for jobs {key: args}: function(*args) in a child each."""
    parallel = parallel or os.cpu_count() or 1
    pending, running, results = list(jobs.items()), {}, {}
    while pending or running:
        while pending and len(running) < parallel:
            key, args = pending.pop(0)
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read)
                _child(function, args, write, memory)
            os.close(write)
            running[read] = (key, pid, time.monotonic() + timeout, [])
        now = time.monotonic()
        ready, _, _ = select.select(list(running), [], [], max(0.0, min(r[2] for r in running.values()) - now))
        for fd in ready:
            key, pid, deadline, chunks = running[fd]
            chunk = os.read(fd, 1 << 20)
            if chunk and sum(map(len, chunks)) < RESULT_LIMIT:
                chunks.append(chunk)
                continue
            results[key] = _finish(fd, pid, chunks, running)
        for fd, (key, pid, deadline, _) in list(running.items()):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                _finish(fd, pid, [], running)
                results[key] = ("failed", f"took longer than {timeout:g} s")
    return results


def _finish(fd, pid, chunks, running):
    os.close(fd)
    del running[fd]
    _, status = os.waitpid(pid, 0)
    try:
        result = json.loads(b"".join(chunks))
    except ValueError:
        signalled = os.WIFSIGNALED(status)
        return "failed", f"stopped ({'killed by signal ' + str(os.WTERMSIG(status)) if signalled else 'no result'})"
    return ("ok", result["ok"]) if "ok" in result else ("failed", result["failed"])
