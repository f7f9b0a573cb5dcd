"""The `--html` page in a real browser: headless Chromium renders it, and the test reads what it shows (the DOM
after the page's script ran, and the pixels of a screenshot). Skipped, saying why, where Chromium is missing."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from gnivo_cli.values.html import render_page
from gnivo_cli.values.maths import completion_values
from gnivo_cli.values.report import PromptReport, ScoredCompletion, ValuesReport

CHROMIUM = next(
    (shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium); the page is checked in a browser"
)
WINDOW = "1200,1400"  # one size for the DOM and the screenshot, so the measured boxes are where the pixels are
# Records where each completion landed, so the screenshot can be read card by card (it changes no layout).
MEASURE = (
    "<script>document.querySelectorAll('article.completion').forEach(function (a) {"
    "var r = a.querySelector('.text').getBoundingClientRect();"
    "a.dataset.box = [r.left, r.top, r.right, r.bottom].map(Math.round).join(','); });</script></body>"
)


def _completion(index: int, words: list[str], per_token: float, reward: float) -> ScoredCompletion:
    tokens = [w + " " for w in words]
    policy = [-1.0 + per_token] * len(tokens)
    reference = [-1.0] * len(tokens)
    values = completion_values(policy, reference, None, scale=0.5)
    return ScoredCompletion(index, "".join(tokens), list(range(len(tokens))), tokens, policy, reference, values, reward)


def _report() -> ValuesReport:
    words = ["step"] * 30
    completions = [  # given out of order: the page sorts by reward
        _completion(0, ["bad"] * 30, -0.4, 0.0),  # its value falls: red
        _completion(1, ["good"] * 30, 0.4, 1.0),  # rises: blue
        _completion(2, words, 0.0, 0.5),  # the reference's own: white
    ]
    completions.sort(key=lambda c: -(c.reward or 0))
    target = {
        "model": "runs/demo", "policy": "runs/demo/final", "reference": "runs/demo/final with its adapter disabled",
        "scale": 0.5, "scale_note": "α·log π_θ/π_ref with the run's α = 0.5", "unit": "token", "step_separator": "\n\n",
        "rewards": [{"name": "demo", "weight": 1.0}],
    }  # fmt: skip
    prompt = PromptReport("prompt 1", [{"role": "user", "content": "Say something <b>bold</b>"}], completions)
    return ValuesReport(target, {"generated": True, "samples": 3, "temperature": 1.0, "seed": 0}, [prompt])


class _Cards(HTMLParser):
    """Each completion card of the dumped DOM: its attributes and the text of its tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[dict] = []
        self._in_token = 0
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in ("src", "href"):
            if attributes.get(name):
                self.external.append(attributes[name])
        if tag == "article":
            self.cards.append({**attributes, "tokens": [], "styles": []})
        if tag == "span" and "tok" in (attributes.get("class") or "").split():
            self._in_token += 1
            self.cards[-1]["tokens"].append("")
            self.cards[-1]["styles"].append(attributes.get("style", ""))

    def handle_endtag(self, tag):
        if tag == "span" and self._in_token:
            self._in_token -= 1

    def handle_data(self, data):
        if self._in_token:
            self.cards[-1]["tokens"][-1] += data


def _chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--force-device-scale-factor=1", "--hide-scrollbars", f"--window-size={WINDOW}",
    ]  # fmt: skip
    return subprocess.run(
        [CHROMIUM, *flags, *args, page.as_uri()], capture_output=True, text=True, timeout=180, check=True
    )


def test_the_page_in_chromium_sorted_coloured_and_offline(tmp_path):
    report = _report()
    page = tmp_path / "values.html"
    page.write_text(render_page(report).replace("</body>", MEASURE), encoding="utf-8")

    dom = _chromium(page, tmp_path / "profile-dom", "--dump-dom", "--virtual-time-budget=2000").stdout
    parser = _Cards()
    parser.feed(dom)
    assert parser.external == []  # nothing fetched: no src or href anywhere
    cards = parser.cards
    assert [c["data-reward"] for c in cards] == ["1.0", "0.5", "0.0"]  # sorted by reward, highest first
    assert ["".join(c["tokens"]) for c in cards] == [c.text for c in report.prompts[0].completions]
    assert "Say something &lt;b&gt;bold&lt;/b&gt;" in dom  # the prompt is shown as text, not markup
    boxes = [tuple(int(v) for v in c["data-box"].split(",")) for c in cards]
    assert boxes[0][2] <= boxes[1][0] and boxes[1][2] <= boxes[2][0]  # side by side, left to right

    shot = tmp_path / "values.png"
    _chromium(page, tmp_path / "profile-shot", f"--screenshot={shot}")
    from PIL import Image

    image = Image.open(shot).convert("RGB")

    def shares(box: tuple[int, int, int, int]) -> tuple[float, float]:
        """The share of strongly blue and strongly red pixels inside a card's text."""
        left, top, right, bottom = box
        assert bottom <= image.height, "the cards lie below the screenshot: make the window taller"
        pixels = list(image.crop((left, top, right, bottom)).getdata())
        blue = sum(b > r + 60 and b > g + 20 for r, g, b in pixels) / len(pixels)
        red = sum(r > b + 60 and r > g + 60 for r, g, b in pixels) / len(pixels)
        return blue, red

    (blue_best, red_best), (blue_mid, red_mid), (blue_worst, red_worst) = (shares(box) for box in boxes)
    assert blue_best > 0.15 and red_best < 0.005  # the rising completion is blue
    assert red_worst > 0.15 and blue_worst < 0.005  # the falling one red
    assert blue_mid < 0.005 and red_mid < 0.005  # the reference's own completion stays white
