"""A throwaway PostgreSQL server for the gradebook tests and benchmark: loopback only, gone afterwards.

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user, as Debian's own tools start
it (the postgresql package creates that user); unprivileged, it runs as whoever runs the tests.
"""

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

INSTALL_HINT = "PostgreSQL: sudo apt-get install postgresql (./run setup, as root)"


def server_binaries():
    """The folder holding initdb and pg_ctl (Debian keeps them out of PATH), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def available():
    if server_binaries() is None:
        return False
    if os.geteuid() == 0:
        return shutil.which("runuser") is not None and _has_user("postgres")
    return True


def _has_user(name):
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_postgresql(database="gradebook"):
    """Yields the SQLAlchemy URL of a new database on a server started for it; the server and its files are
    removed on exit."""
    bin_dir = server_binaries()
    as_server_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="gradebook-pg-", dir="/tmp"))  # /tmp: traversable by the server user
    if as_server_user:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", _free_port()

    def run(*command):
        subprocess.run([*as_server_user, *command], check=True, capture_output=True, text=True, cwd=folder)

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "--encoding=UTF8")
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "server.log"), "-w", "start")
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", database)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"
    finally:
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        for _ in range(20):  # the server's last files vanish as it exits
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                break
            time.sleep(0.1)
