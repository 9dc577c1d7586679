"""A real browser (headless Chromium driven by selenium) types a comment, clicks Classify and reads the verdict."""

import os
import shutil
import tempfile
import threading

import pytest
from waitress.server import create_server

pytestmark = pytest.mark.browser

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get("REQUIRE_BROWSER"):
        raise RuntimeError("REQUIRE_BROWSER is set but chromium / chromedriver are not installed")
    pytest.skip("needs Debian's chromium and chromium-driver", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def server_url(app):
    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()


@pytest.fixture(params=[True, False], ids=["javascript", "no-javascript"])
def browser(request):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp()
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--window-size=412,900"):  # fmt: skip
        options.add_argument(flag)
    if not request.param:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def test_typing_a_comment_and_clicking_classify_shows_the_verdict(browser, server_url, app):
    comment = "you stupid idiot <b>really</b>"
    browser.get(server_url + "/")
    box = browser.find_element(By.ID, "text")
    box.send_keys(comment)
    browser.find_element(By.ID, "classify").click()
    label = WebDriverWait(browser, 20).until(ec.visibility_of_element_located((By.ID, "label")))
    expected = app.extensions["toxiclf"].classifier.predict([comment])[0]
    assert label.text.lower() == expected["label"]
    assert browser.find_element(By.ID, "score").text == f"{expected['score']:.3f}"
    assert browser.find_element(By.ID, "text").get_attribute("value") == comment  # the text stays in the box
    assert not browser.find_elements(By.TAG_NAME, "b")  # the user's markup was not rendered


def test_an_empty_comment_gets_a_message_not_an_error(browser, server_url):
    browser.get(server_url + "/")
    browser.execute_script("document.getElementById('text').removeAttribute('required')")
    browser.find_element(By.ID, "text").send_keys("   ")
    browser.find_element(By.ID, "classify").click()
    problem = WebDriverWait(browser, 20).until(ec.visibility_of_element_located((By.ID, "problem")))
    assert "empty" in problem.text


def test_the_words_that_raised_the_score_are_highlighted(browser, server_url, app):
    import numpy as np

    def keyword_scores(texts, *args, **kwargs):  # P(toxic) 0.9 with "idiot", else 0.1: "idiot" raises it by 0.8
        return np.array([0.9 if "idiot" in t else 0.1 for t in texts])

    app.extensions["toxiclf"].classifier.scores = keyword_scores
    browser.get(server_url + "/")
    browser.find_element(By.ID, "text").send_keys("thanks for nothing, you idiot")
    browser.find_element(By.ID, "classify").click()  # explanations are opt-in: the verdict alone
    WebDriverWait(browser, 20).until(ec.visibility_of_element_located((By.ID, "label")))
    assert not browser.find_elements(By.ID, "why")
    browser.find_element(By.ID, "explain").click()
    browser.find_element(By.ID, "classify").click()
    why = WebDriverWait(browser, 20).until(ec.visibility_of_element_located((By.ID, "why")))
    marks = why.find_elements(By.TAG_NAME, "mark")
    assert [m.text for m in marks] == ["idiot"] and marks[0].get_attribute("data-score") == "+0.800"
    assert "push-4" in marks[0].get_attribute("class") and why.text == "thanks for nothing, you idiot"
