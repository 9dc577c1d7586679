"""A screenshot of the page classifying a comment, for the README: `python scripts/page_screenshot.py`.

Serves the shipped model on a free loopback port, types the comment into headless Chromium (Debian's chromium
and chromium-driver), asks for the words that raised the score, clicks Classify and saves docs/page.png.
"""

import argparse
import shutil
import sys
import tempfile
import threading
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

COMMENT = "Thanks for the edit, you absolute idiot. Nobody asked for your stupid opinion."


def main(argv=None):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait
    from waitress.server import create_server

    from app import create_app

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comment", default=COMMENT, help="the comment to classify")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "docs" / "page.png", help="PNG to write")
    args = parser.parse_args(argv)
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        raise SystemExit("error: needs Debian's chromium and chromium-driver")

    server = create_server(create_app(), host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    profile = tempfile.mkdtemp()
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--window-size=820,760", "--hide-scrollbars"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.get(f"http://127.0.0.1:{server.effective_port}/")
        driver.find_element(By.ID, "text").send_keys(args.comment)
        driver.find_element(By.ID, "explain").click()  # explanations are opt-in
        driver.find_element(By.ID, "classify").click()
        WebDriverWait(driver, 60).until(ec.visibility_of_element_located((By.ID, "why")))
        args.output.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(args.output))
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        server.close()
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
