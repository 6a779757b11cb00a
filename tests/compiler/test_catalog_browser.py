"""The catalog in a real headless Chromium (Debian's chromium, driven by Playwright; no browser is
downloaded): every page loads without a console error, every link resolves to a file of the site, the
index's filters work (and without script every model is listed), and screenshots of the index and of a
model page are taken and checked: their size, that they are not blank, and the text the page shows.
MLPLAT_UPDATE_GOLDEN=1 also copies the screenshots to docs/catalog/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from tests.compiler.test_catalog import build
from tests.conftest import REPO, UPDATE_GOLDEN

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = REPO / "docs" / "catalog"
VIEWPORT = {"width": 1280, "height": 900}

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is absent (Debian's chromium package; "
                                                         ".ci/run installs it where apt-get can)")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("catalog") / "site"
    build(REPO, output)
    return output


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    from playwright.sync_api import sync_playwright

    # Chromium keeps settings and caches under HOME (dconf, fontconfig): a scratch one, not the machine's.
    home = tmp_path_factory.mktemp("chromium-home")
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"),
           "XDG_CONFIG_HOME": str(home / "config")}
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], env=env)
        yield launched
        launched.close()


def open_page(browser, url: str, problems: list[str], script: bool = True):
    context = browser.new_context(viewport=VIEWPORT, java_script_enabled=script)
    page = context.new_page()
    page.on("console", lambda m: problems.append(f"{url}: console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"{url}: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"{url}: request failed {r.url}"))
    page.goto(url, wait_until="load")
    return page


def test_every_page_loads_cleanly_and_every_link_resolves(site: Path, browser) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) == 1 + 6 + 4  # the index, a page per model and per team
    problems: list[str] = []
    for path in pages:
        page = open_page(browser, path.as_uri(), problems)
        targets = page.eval_on_selector_all(
            "a[href], link[href], script[src]", "els => els.map(e => e.href || e.src)")
        assert targets, path
        for target in targets:
            parsed = urlparse(target)
            assert parsed.scheme in ("file", "data"), f"{path.name} links outside the site: {target}"
            if parsed.scheme == "file":
                linked = Path(unquote(parsed.path))
                assert linked.is_file() and site in linked.parents, f"{path.name}: {target} does not resolve"
        page.context.close()
    assert problems == []


def test_the_index_filters_by_search_team_environment_and_health(site: Path, browser) -> None:
    problems: list[str] = []
    page = open_page(browser, (site / "index.html").as_uri(), problems)

    def shown() -> list[str]:
        return page.eval_on_selector_all("#models tbody tr:not([hidden]) td:first-child a",
                                         "els => els.map(e => e.text)")

    assert len(shown()) == 6 and page.inner_text("#count") == "6 of 6 models"
    page.fill("#search", "chargeback")
    assert shown() == ["chargeback-risk"] and page.inner_text("#count") == "1 of 6 models"
    page.fill("#search", "@jo-berg")  # an owner: the search reads owners too
    assert shown() == ["churn-predictor"]
    page.fill("#search", "")
    page.select_option("#filter-team", "growth")
    assert shown() == ["churn-predictor", "ltv-forecaster"]
    page.select_option("#filter-environment", "prod")
    assert shown() == ["churn-predictor"]  # ltv-forecaster has no pin
    page.select_option("#filter-team", "")
    assert shown() == ["churn-predictor", "chargeback-risk", "fraud-detector"]
    page.select_option("#filter-health", "attention")
    assert shown() == [] and page.is_visible("#no-match")
    page.context.close()
    no_script = open_page(browser, (site / "index.html").as_uri(), problems, script=False)
    assert no_script.locator("#models tbody tr.model:visible").count() == 6  # every model, without script
    no_script.context.close()
    assert problems == []


@pytest.mark.parametrize(("name", "page_path", "expected"), [
    ("index", "index.html", ["Models", "fraud-detector", "v12 + v13 canary 5%", "deployed through platform",
                             "Teams"]),
    ("fraud-detector", "models/fraud-detector.html",
     ["fraud-detector", "Card-not-present fraud scoring for checkout", "canary version 13: 5%",
      "Metrics against gates", "roc_auc", "Lineage", "model card"]),
])
def test_screenshots_show_the_page(site: Path, browser, tmp_path: Path, name: str, page_path: str,
                                   expected: list[str]) -> None:
    from PIL import Image, ImageStat

    problems: list[str] = []
    page = open_page(browser, (site / page_path).as_uri(), problems)
    text = page.inner_text("body")
    for phrase in expected:
        assert phrase in text, phrase
    if name == "fraud-detector":
        assert page.locator("svg.chart").count() == 2 and page.locator("svg.lineage g.version").count() == 2
    shot = tmp_path / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    page.context.close()
    with Image.open(shot) as image:
        width, height = image.size
        assert width == VIEWPORT["width"] and height >= 700, image.size
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20) or []
        assert len(colours) > 50, "the screenshot is nearly one colour"
        assert max(ImageStat.Stat(rgb).stddev) > 20, "the screenshot is blank"
    assert problems == []
    if UPDATE_GOLDEN:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, SCREENSHOTS / f"{name}.png")
    assert (SCREENSHOTS / f"{name}.png").is_file(), "no committed screenshot; run with MLPLAT_UPDATE_GOLDEN=1"
    assert os.path.getsize(SCREENSHOTS / f"{name}.png") > 10_000
