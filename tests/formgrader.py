"""Hand-grading through nbgrader's formgrader in JupyterLab, in a real browser, as an instructor does it: the
Nbgrader menu → Formgrader (a JupyterLab tab holding an iframe) → Manage Assignments → the lab's "# Submissions"
link → the student → the notebook → the manual score and comment of a written answer, with a screenshot per step.

Helpers only (no tests here): start_course_jupyterlab(course_root, work) and hand_grade(driver, ...)."""

import contextlib
import json
import secrets
import subprocess
import sys
import urllib.request
from pathlib import Path

from selenium.common.exceptions import NoSuchFrameException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By

from chromium import jupyter_env, running_jupyterlab, wait

SERVER_EXTENSION = "nbgrader.server_extensions.formgrader"
FORMGRADER_IFRAME = "#formgrader-iframe iframe"  # the nbgrader lab extension's tab: an IFrame widget


def _check_extensions(env, cwd):
    """nbgrader's formgrader server extension and its lab extension, both enabled in this environment."""
    found = {}
    for kind in ("server", "labextension"):
        args = ["server", "extension", "list"] if kind == "server" else ["labextension", "list"]
        out = subprocess.run(
            [sys.executable, "-m", "jupyter", *args],
            env={**env, "NO_COLOR": "1"},
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=120,
        )
        found[kind] = out.stdout + out.stderr
    server = [line for line in found["server"].splitlines() if SERVER_EXTENSION in line and "enabled" in line]
    lab = [line for line in found["labextension"].splitlines() if "@jupyter/nbgrader" in line and "enabled" in line]
    if not server or not lab:
        raise RuntimeError(f"nbgrader's extensions are not both enabled:\n{found['server']}\n{found['labextension']}")


@contextlib.contextmanager
def start_course_jupyterlab(course_root, work):
    """JupyterLab on loopback serving a graded course folder (its gradebook.db, nbgrader_config.py), with nbgrader's
    lab and server extensions on; yields (base_url, token)."""
    course_root, work = Path(course_root).resolve(), Path(work)
    (work / "config").mkdir(parents=True, exist_ok=True)
    _check_extensions(jupyter_env(work), course_root)
    with running_jupyterlab(course_root, work, nbgrader=True, ready="/formgrader/api/status") as server:
        yield server


def _get_json(base, token, path):
    request = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.load(answer)


def _find(driver, by, selector):
    """The first displayed element matching, or None (a page redrawn under us counts as not yet)."""
    try:
        return next((e for e in driver.find_elements(by, selector) if e.is_displayed()), None)
    except StaleElementReferenceException:
        return None


def _into_formgrader(driver):
    """Switch into the formgrader iframe (from the JupyterLab page); true once inside it."""
    driver.switch_to.default_content()
    frames = driver.find_elements(By.CSS_SELECTOR, FORMGRADER_IFRAME)
    try:
        return bool(frames) and (driver.switch_to.frame(frames[0]) or True)
    except (NoSuchFrameException, StaleElementReferenceException):
        return False


def _formgrader_at(driver, path_part, ready_css):
    """Inside the iframe, a formgrader page whose URL contains path_part and whose ready_css is shown."""
    try:
        return (
            _into_formgrader(driver)
            and path_part in driver.execute_script("return location.pathname")
            and _find(driver, By.CSS_SELECTOR, ready_css)
        )
    except WebDriverException:  # the iframe navigating between pages
        return None


def hand_grade(driver, base, token, lab, student, grade_id, points, comment, shots):
    """Open the formgrader from JupyterLab's Nbgrader menu and give `student`'s `lab` notebook `points` and `comment`
    on the cell `grade_id`; checks both saved through the formgrader API. Returns the screenshot paths."""
    shots = Path(shots)
    shots.mkdir(parents=True, exist_ok=True)
    taken = []

    def until(condition, seconds, what):
        try:
            return wait(condition, seconds, what)
        except TimeoutError:
            driver.switch_to.default_content()
            driver.save_screenshot(str(shots / "timeout.png"))
            raise TimeoutError(f"waited {seconds} s for {what} (screenshot: {shots / 'timeout.png'})") from None

    def click(by, selector, what, seconds=30):
        def clicked():
            element = _find(driver, by, selector)
            try:
                return element is not None and (element.click() or True)
            except WebDriverException:  # stale (page redrawn) or covered for now: try again
                return False

        until(clicked, seconds, what)

    def shot(name):
        driver.switch_to.default_content()  # the whole JupyterLab window, the formgrader tab in it
        taken.append(shots / name)
        driver.save_screenshot(str(taken[-1]))
        _into_formgrader(driver)  # back into the iframe, once there is one

    driver.switch_to.default_content()
    driver.get(f"{base}/lab/workspaces/formgrader-{secrets.token_hex(4)}?reset&token={token}")
    click(
        By.XPATH,
        "//div[contains(@class, 'lm-MenuBar-itemLabel') and text()='Nbgrader']",
        "JupyterLab's Nbgrader menu (is the nbgrader lab extension enabled?)",
        90,
    )
    menu_item = "//li[contains(@class, 'lm-Menu-item')][.//div[contains(@class, 'lm-Menu-itemLabel') and text()='{}']]"
    until(lambda: _find(driver, By.XPATH, menu_item.format("Formgrader")), 10, "Nbgrader → Formgrader")
    shot("1-nbgrader-menu.png")
    click(By.XPATH, menu_item.format("Formgrader"), "Nbgrader → Formgrader")

    # the formgrader opens on Manage Assignments; its sidebar link is clicked all the same, as an instructor would
    until(
        lambda: _formgrader_at(driver, "/formgrader", "a[href$='/formgrader/manage_assignments']"),
        60,
        "the formgrader tab (its iframe) to load",
    )
    click(By.CSS_SELECTOR, "a[href$='/formgrader/manage_assignments']", "Manage Assignments")
    submissions = f"a[href$='/formgrader/manage_submissions/{lab}']"
    until(
        lambda: _formgrader_at(driver, "/manage_assignments", submissions),
        60,
        f"Manage Assignments to list {lab} with a '# Submissions' link (autograded?)",
    )
    shot("2-manage-assignments.png")

    click(By.CSS_SELECTOR, submissions, f"{lab}'s '# Submissions' link")
    student_link = f"a[href$='/formgrader/manage_students/{student}/{lab}']"
    until(
        lambda: _formgrader_at(driver, f"/manage_submissions/{lab}", student_link),
        60,
        f"{student}'s autograded submission of {lab} in the submissions table",
    )
    shot("3-submissions.png")

    click(By.CSS_SELECTOR, student_link, f"{student}'s name in {lab}'s submissions")
    notebook_link = "td.name a[href*='/formgrader/submissions/']"
    until(
        lambda: _formgrader_at(driver, f"/manage_students/{student}/{lab}", notebook_link),
        60,
        f"{student}'s notebooks of {lab}",
    )
    shot("4-student-notebooks.png")

    click(By.CSS_SELECTOR, notebook_link, f"the notebook link of {student}'s {lab}")
    score_box, comment_box = f"input.score[id='{grade_id}']", f"textarea.comment[id='{grade_id}-comment']"
    until(
        lambda: _formgrader_at(driver, "/formgrader/submissions/", score_box),
        60,
        f"the manual grading page with a score box for cell {grade_id!r}",
    )
    # The page's Backbone views fill the boxes once /formgrader/api/grades and /api/comments answer: wait for them,
    # or they overwrite what we type. (Not for formgrader.loaded: offline, the page's MathJax, from a CDN, is missing
    # and FormGrader.init stops at configureScrolling; the views and their saving work all the same.)
    until(
        lambda: driver.execute_script(
            "return Boolean(window.formgrader && formgrader.grades && formgrader.comments"
            " && formgrader.grades.loaded && formgrader.comments.loaded)"
        ),
        30,
        "the formgrader's grades and comments to load",
    )
    plots = driver.find_elements(By.CSS_SELECTOR, "div.output_png img")
    if plots:  # what the mark scheme asks about: the student's own plot, in the autograded copy
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", plots[-1])
        until(lambda: driver.execute_script("return arguments[0].naturalWidth", plots[-1]), 10, "the plot to load")
        shot("5-the-students-plot.png")
    submission_id = driver.execute_script("return submission_id")
    score = driver.find_element(By.CSS_SELECTOR, score_box)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", score)
    score.click()
    score.clear()
    score.send_keys(str(points))
    text = driver.find_element(By.CSS_SELECTOR, comment_box)
    text.click()  # the score box loses focus: its change event saves it (PUT /formgrader/api/grade/<id>)
    text.clear()
    text.send_keys(comment)
    # click away, on the student's answer, as an instructor does: the comment's change event saves it (PUT
    # /formgrader/api/comment/<id>). Not Tab: it lands on the next cell's "Full credit" button.
    score.find_element(By.XPATH, "ancestor::div[contains(@class, 'nbgrader_cell')]//div[@class='panel-body']").click()

    def saved():
        grades = _get_json(base, token, f"/formgrader/api/grades?submission_id={submission_id}")
        comments = _get_json(base, token, f"/formgrader/api/comments?submission_id={submission_id}")
        grade = next((g for g in grades if g["name"] == grade_id), None)
        note = next((c for c in comments if c["name"] == grade_id), None)
        if grade is None or note is None:
            raise LookupError(f"no grade and comment {grade_id!r} in submission {submission_id}: {grades}")
        return grade["manual_score"] == float(points) and note["manual_comment"] == comment

    until(saved, 30, f"the formgrader API to report {points} points and the comment on {grade_id!r}")
    _into_formgrader(driver)
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center'})", driver.find_element(By.CSS_SELECTOR, comment_box)
    )
    shot("6-manual-grade.png")
    driver.switch_to.default_content()
    return taken


def grading_page_markup(driver):
    """On the formgrader page hand_grade left open: its title, and what is live in the notebook's rendered markdown
    (event handlers, javascript: links, scripts, frames)."""
    live = ", ".join(
        f".text_cell_render {what}"
        for what in ("[onerror]", "[onload]", "[onclick]", 'a[href^="javascript:"]', "script", "iframe")
    )
    _into_formgrader(driver)
    try:
        return driver.execute_script(
            f"return {{title: document.title, rendered: "
            f"document.querySelectorAll('.text_cell_render').length, "
            f"live: document.querySelectorAll('{live}').length}}"
        )
    finally:
        driver.switch_to.default_content()
