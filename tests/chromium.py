"""What the browser tests share: Debian's headless Chromium under Selenium, a JupyterLab on loopback, waiting."""

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)
# JupyterLab settings for a test: every cell in the page (no virtual scrolling), no news prompt over the page.
LAB_SETTINGS = {
    "notebook-extension/tracker": {"windowingMode": "none"},
    "apputils-extension/notification": {"fetchNews": "false"},
}


def wait(condition, seconds, what, screenshot=None, driver=None):
    """condition()'s first true value within `seconds`, else TimeoutError (with a screenshot when a driver is given)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.25)
    if driver is not None and screenshot is not None:
        driver.save_screenshot(str(screenshot))
    raise TimeoutError(f"waited {seconds} s for {what}")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def chromium(profile):
    """A headless Chromium driven by Selenium, with its profile in `profile`."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    assert not missing, f"{missing} missing: ./run setup installs Debian's chromium and chromium-driver (as root)"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def jupyter_env(work):
    """Settings, workspaces, runtime and the user config dir under `work`, the interpreter's scripts first on PATH.
    JUPYTER_CONFIG_DIR only replaces ~/.jupyter: the venv's etc/jupyter (nbgrader's extension config) still counts."""
    return dict(
        os.environ,
        JUPYTERLAB_SETTINGS_DIR=str(work / "settings"),
        JUPYTER_CONFIG_DIR=str(work / "config"),
        JUPYTERLAB_WORKSPACES_DIR=str(work / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(work / "runtime"),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    )


@contextlib.contextmanager
def running_jupyterlab(root_dir, work, nbgrader=True, ready="/api/status"):
    """JupyterLab on loopback serving `root_dir` (also its working folder), its state under `work`; with
    nbgrader=False the instructor's nbgrader extension is off, as in a student's JupyterLab. Yields (base, token)
    once `ready` answers."""
    root_dir, work = Path(root_dir).resolve(), Path(work)
    for name, values in LAB_SETTINGS.items():
        plugin = work / "settings" / "@jupyterlab" / f"{name}.jupyterlab-settings"
        plugin.parent.mkdir(parents=True, exist_ok=True)
        plugin.write_text(json.dumps(values))
    (work / "config" / "labconfig").mkdir(parents=True, exist_ok=True)
    if not nbgrader:
        (work / "config" / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {"@jupyter/nbgrader": True}})
        )
    port, token = free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    with open(work / "jupyterlab.log", "w") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                "lab",
                "--no-browser",
                "--allow-root",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root_dir}",
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ],
            cwd=root_dir,
            env=jupyter_env(work),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

        def up():
            request = urllib.request.Request(f"{base}{ready}", headers={"Authorization": f"token {token}"})
            try:
                with urllib.request.urlopen(request, timeout=1) as answer:
                    return answer.status == 200
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError((work / "jupyterlab.log").read_text()) from None
                return False

        try:
            wait(up, 90, f"JupyterLab to answer {ready} on {base} (log: {work / 'jupyterlab.log'})")
            yield base, token
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
