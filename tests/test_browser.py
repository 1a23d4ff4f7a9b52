"""Every release notebook, filled in, in a real JupyterLab in a real browser: JupyterLab on loopback, Debian's
headless Chromium driven by Selenium through the Run menu. The figures and plots must render and every visible
check must report ✓. Screenshots are kept in build/artifacts/browser/: <lab>-top.png, <lab>-plot.png, and
backprop-graph.png (the computational graph, a data-URI image in the markdown)."""

import shutil

import nbformat
import pytest
from selenium.webdriver.common.by import By

from graders import course, labs
from graders.samples.classroom import reference_sample
from chromium import chromium, running_jupyterlab, wait
from conftest import read_notebook

pytestmark = pytest.mark.browser

ARTIFACTS = course.ROOT / "build" / "artifacts" / "browser"
PAGE_STATE = """
const outputs = [...document.querySelectorAll('.jp-OutputArea-output')];
return {
  prompts: [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent.trim()),
  markdown_images: [...document.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown img')].map(i => i.naturalWidth),
  markdown_image_kinds: [...document.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown img')].map(
    i => i.getAttribute('src').slice(0, 22)),
  output_images: [...document.querySelectorAll('.jp-OutputArea-output img')].map(i => i.naturalWidth),
  ticks: outputs.map(o => o.textContent.trim()).filter(t => t.startsWith('✓')).map(t => t.split(/[ :]/)[1]),
  tracebacks: outputs.map(o => o.textContent).filter(t => t.includes('Traceback') || t.includes('Error:')),
};"""


def _wait(condition, seconds, what, driver=None):
    return wait(condition, seconds, what, ARTIFACTS / "timeout.png", driver)


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """JupyterLab on loopback serving a folder of filled-in release notebooks; yields its base URL and token."""
    work = tmp_path_factory.mktemp("jupyterlab")
    notebooks = work / "notebooks"
    notebooks.mkdir()
    for lab in course.LABS:
        nbformat.write(reference_sample(lab).notebook(read_notebook("release", lab)), notebooks / f"{lab}.ipynb")
    with running_jupyterlab(notebooks, work, nbgrader=False) as server:  # a student's JupyterLab: no nbgrader
        yield server


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


def _graded_functions(lab):
    return [
        c.metadata.nbgrader.grade_id
        for c in read_notebook("source", lab).cells
        if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"
    ]


@pytest.mark.parametrize("lab", course.LABS)
def test_filled_in_release_runs_in_jupyterlab_and_shows_its_figures_and_checks(lab, jupyterlab, browser):
    base, token = jupyterlab
    browser.get(f"{base}/lab/workspaces/{lab}/tree/{lab}.ipynb?reset&token={token}")  # a workspace of its own
    state = lambda: browser.execute_script(PAGE_STATE)  # noqa: E731
    _wait(
        lambda: (
            browser.find_elements(By.CSS_SELECTOR, '.jp-Notebook-ExecutionIndicator[data-status="idle"]')
            and state()["prompts"]
        ),
        90,
        "the notebook and an idle kernel",
        browser,
    )
    assert all(p == "[ ]:" for p in state()["prompts"]), "the notebook opened with outputs already in it"

    browser.find_element(By.XPATH, "//div[contains(@class, 'lm-MenuBar-itemLabel') and text()='Run']").click()
    browser.find_element(By.XPATH, "//div[contains(@class, 'lm-Menu-itemLabel') and text()='Run All Cells']").click()
    _wait(lambda: any(p != "[ ]:" for p in state()["prompts"]), 30, "the first cell to start", browser)
    idle = '.jp-Notebook-ExecutionIndicator[data-status="idle"]'
    _wait(
        lambda: browser.find_elements(By.CSS_SELECTOR, idle) and "[*]:" not in state()["prompts"],
        180,
        "the run to end (Run All stops at the first error)",
        browser,
    )
    page = state()
    assert page["tracebacks"] == []
    assert all(p[1:-2].isdigit() for p in page["prompts"]), page["prompts"]  # every cell ran
    _wait(lambda: all(state()["output_images"]), 30, "the plot to load", browser)

    page = state()
    shots = {"top": ".jp-Cell", "plot": ".jp-OutputArea-output img", "graph": ".jp-RenderedMarkdown img"}
    for name, selector in shots.items():
        if browser.find_elements(By.CSS_SELECTOR, selector):
            in_view = (
                f"const box = document.querySelector('{selector}').getBoundingClientRect();"
                "return box.top >= 0 && box.top < window.innerHeight;"
            )
            browser.execute_script(f"document.querySelector('{selector}').scrollIntoView({{block: 'center'}})")
            _wait(lambda script=in_view: browser.execute_script(script), 10, f"{selector} scrolled into view", browser)
            browser.save_screenshot(str(ARTIFACTS / f"{lab}-{name}.png"))
    assert page["ticks"] == _graded_functions(lab)  # every visible check passed, in notebook order
    assert len(page["output_images"]) == 1 and page["output_images"][0] > 500  # the lab's plot, drawn
    figures = len(labs.part(lab).FIGURE_CELLS)  # the lab's drawn figures, each from its data URI
    assert len(page["markdown_images"]) == figures and all(size > 500 for size in page["markdown_images"])
    assert page["markdown_image_kinds"] == ["data:image/png;base64,"] * figures
