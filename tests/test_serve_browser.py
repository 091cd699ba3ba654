"""The page in a real browser (Debian's headless Chromium, driven by Selenium): search a generated lecture and
play the first hit from its start, ask and seek with a citation chip, delete a video and index it again with a
live progress bar, and fit a phone's width. Screenshots go to ``test-artifacts/browser/`` (or
``$VRAG_TEST_ARTIFACTS``)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serving import CHROMEDRIVER, CHROMIUM, Corpus, ensure_chromium, lecture_corpus, serving  # noqa: F401

pytestmark = pytest.mark.integration

LECTURE = "intro_to_ml.mp4"
QUERY = "gradient descent learning rate"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--mute-audio",
    "--autoplay-policy=no-user-gesture-required", "--window-size=1280,900",
)  # fmt: skip


@pytest.fixture(scope="module")
def corpus(lecture_corpus: Corpus) -> Corpus:  # noqa: F811
    return lecture_corpus


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = (
        Path(os.environ.get("VRAG_TEST_ARTIFACTS") or Path(__file__).parents[1] / "test-artifacts")
        / "browser"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    ensure_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    with tempfile.TemporaryDirectory(prefix="vrag-chromium-") as profile:
        options.add_argument(f"--user-data-dir={profile}")
        home = {"XDG_CONFIG_HOME": profile, "XDG_CACHE_HOME": profile}  # nothing written into the repository
        browser = webdriver.Chrome(service=Service(CHROMEDRIVER, env={**os.environ, **home}), options=options)
        try:
            yield browser
        finally:
            browser.quit()


def _until(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _seek_then(driver: Any, act: Callable[[], None]) -> float:
    """Do ``act`` and return the player's currentTime once the seek it causes has completed."""
    driver.execute_script(
        "window.__seeked = null; document.querySelector('#player').addEventListener('seeked',"
        " e => { window.__seeked = e.target.currentTime; }, {once: true});"
    )
    act()
    return float(_until("the player to seek", lambda: driver.execute_script("return window.__seeked")))


def test_search_watch_ask_delete_and_index_in_the_page(
    driver: Any, corpus: Corpus, tmp_path: Path, artifacts: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    lecture = corpus.videos[LECTURE]
    with serving(corpus.copy(tmp_path / "index"), roots=[lecture.parent]) as (server, _):
        driver.get(server.url + "/")
        assert driver.title.startswith("vrag")
        unlabelled = driver.execute_script(
            "return [...document.querySelectorAll('input, select')].filter(e => !e.labels.length"
            " && !e.getAttribute('aria-label')).map(e => e.id)"
        )
        assert unlabelled == []

        # search with the keyboard; the first card's keyframe loads; Enter on the card plays its span
        driver.find_element(By.ID, "q").send_keys(QUERY, Keys.ENTER)
        cards = _until("results", lambda: driver.find_elements(By.CSS_SELECTOR, "#results .card"))
        expected = httpx.get(f"{server.url}/api/search", params={"q": QUERY, "k": 10}, timeout=30).json()[0]
        assert (
            Path(expected["video"]).name == LECTURE and expected["start"] == corpus.truth[LECTURE][1]["start"]
        )
        assert f"{LECTURE}" in cards[0].text and "00:12–00:24" in cards[0].text
        assert driver.find_elements(By.CSS_SELECTOR, "#results .card mark")  # query terms marked
        keyframe = (
            "const i = document.querySelector('#results .card img'); return i.complete && i.naturalWidth"
        )
        assert _until("the keyframe", lambda: driver.execute_script(keyframe)) == 320
        at = _seek_then(driver, lambda: cards[0].send_keys(Keys.ENTER))
        assert abs(at - expected["start"]) <= 0.5
        _until("playback", lambda: driver.execute_script("return !document.querySelector('#player').paused"))
        driver.save_screenshot(str(artifacts / "search.png"))
        # it stops at the span's end (played at 4x here; the page checks on each timeupdate)
        driver.execute_script("document.querySelector('#player').playbackRate = 4")
        player = "const v = document.querySelector('#player'); return v.paused && v.currentTime"
        stopped = _until("the pause at the span's end", lambda: driver.execute_script(player), timeout=30)
        assert expected["end"] <= stopped <= expected["end"] + 1.5

        # ask; a citation chip seeks the player to the cited moment
        driver.execute_script("document.querySelector('#player').pause()")
        _seek_then(
            driver, lambda: driver.execute_script("document.querySelector('#player').currentTime = 35")
        )
        driver.find_element(By.ID, "question").send_keys("why does the loss diverge?", Keys.ENTER)
        chip = _until("a citation chip", lambda: driver.find_elements(By.CSS_SELECTOR, "#answer .chip"))[0]
        assert "loss diverges" in driver.find_element(By.ID, "answer").text
        minutes, seconds = chip.get_attribute("aria-label").rsplit(" from ", 1)[1].split(":")
        at = _seek_then(driver, chip.click)
        assert 12.0 <= at < 24.0 and abs(at - (60 * int(minutes) + int(seconds))) <= 1.0  # the cited moment
        driver.save_screenshot(str(artifacts / "ask.png"))

        # the videos tab: delete the lecture, then index it again with a live progress bar
        driver.find_element(By.ID, "tab-videos").click()
        rows = lambda: driver.find_elements(By.CSS_SELECTOR, "#videos tbody tr")  # noqa: E731
        _until("two videos", lambda: len(rows()) == 2)
        driver.find_element(By.CSS_SELECTOR, f"button[aria-label='Delete {LECTURE}']").click()
        _until("the confirmation", lambda: _alert(driver)).accept()
        _until("one video", lambda: len(rows()) == 1)
        listed = httpx.get(f"{server.url}/api/videos", timeout=30).json()
        assert [v["name"] for v in listed] == ["video_search.webm"]

        driver.find_element(By.ID, "index-path").send_keys(str(lecture), Keys.ENTER)
        status = lambda: driver.find_element(By.ID, "index-status").text  # noqa: E731
        _until("the report", lambda: status().startswith("Indexed 1 video ("), timeout=90)
        assert driver.execute_script("return document.querySelector('#index-progress').value") == 1
        _until("two videos again", lambda: len(rows()) == 2)
        driver.save_screenshot(str(artifacts / "videos.png"))

        # a phone's width: nothing sticks out sideways
        driver.find_element(By.ID, "tab-search").click()
        driver.set_window_size(390, 844)
        width = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1]
        driver.save_screenshot(str(artifacts / "phone.png"))
        driver.set_window_size(1280, 900)


def _alert(driver: Any) -> Any:
    from selenium.common.exceptions import NoAlertPresentException

    try:
        return driver.switch_to.alert
    except NoAlertPresentException:
        return None


def test_the_page_asks_for_the_api_key_and_then_searches(
    driver: Any, corpus: Corpus, tmp_path: Path, artifacts: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    key = "browser-test-key-0123456789abcdef"
    lecture = corpus.videos[LECTURE]
    with serving(corpus.copy(tmp_path / "index"), roots=[lecture.parent], api_key=key) as (server, _):
        driver.get(server.url + "/")
        _until(
            "the key dialog",
            lambda: driver.find_element(By.ID, "key-dialog").get_attribute("open") is not None,
        )
        driver.find_element(By.ID, "api-key").send_keys(key, Keys.ENTER)
        driver.find_element(By.ID, "q").send_keys(QUERY, Keys.ENTER)
        cards = _until("results", lambda: driver.find_elements(By.CSS_SELECTOR, "#results .card"))
        keyframe = (
            "const i = document.querySelector('#results .card img'); return i.complete && i.naturalWidth"
        )
        assert _until("the signed keyframe", lambda: driver.execute_script(keyframe)) == 320
        at = _seek_then(
            driver, cards[0].click
        )  # the media URL is signed: the <video> loads it without the key
        assert abs(at - 12.0) <= 0.5
