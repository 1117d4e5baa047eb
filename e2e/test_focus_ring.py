"""The keyboard focus ring is visible: for every element reached with Tab on the main pages, one ring
of its box-shadow differs from the background behind it by at least 3:1 (WCAG 2.2 non-text
contrast; issue 14, bug 9: the amber ring was 1.7:1 against the page)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from accounts.tests.flows import make_verified_user
from e2e.helpers import log_in

pytestmark = [pytest.mark.django_db(transaction=True)]

TABS_PER_PAGE = 25
# The focused element, its ring colours and the first opaque background behind it.
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const rgba = text => (text.match(/rgba?\\([^)]*\\)/g) || []).map(c => c.match(/[\\d.]+/g).map(Number));
  let node = el.parentElement, background = [255, 255, 255, 1];
  while (node) {
    const [colour] = rgba(getComputedStyle(node).backgroundColor);
    if (colour && (colour[3] === undefined || colour[3] > 0.9)) { background = colour; break; }
    node = node.parentElement;
  }
  return {what: el.outerHTML.slice(0, 120), rings: rgba(getComputedStyle(el).boxShadow), background};
}"""


def luminance(rgb) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def focus_rings(page: Page) -> list[dict]:
    page.locator("body").click(position={"x": 1, "y": 1})  # start from the top, as a keyboard user
    seen = []
    for _ in range(TABS_PER_PAGE):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None or (seen and focused["what"] == seen[0]["what"]):
            break
        seen.append(focused)
    return seen


def test_every_focus_ring_stands_out_from_its_background(page: Page, live_server):
    alice = make_verified_user("alice@example.com", "correct-horse-battery-42", display_name="Alice")
    base = live_server.url
    weak = []
    checked = 0
    pages = ["/", "/accounts/login/", "/accounts/signup/"]
    for n, path in enumerate([*pages, "/photos/", "/photos/upload/", "/people/", "/accounts/settings/"]):
        if n == len(pages):
            log_in(page, base, alice)
        page.goto(f"{base}{path}")
        for focused in focus_rings(page):
            checked += 1
            opaque = [ring for ring in focused["rings"] if len(ring) == 3 or ring[3] > 0.9]
            best = max((contrast(ring, focused["background"]) for ring in opaque), default=0.0)
            if best < 3:
                weak.append(
                    f"{path}: {focused['what']} ring {focused['rings']} on {focused['background']}: {best:.2f}:1"
                )
    assert checked > 20
    assert weak == [], "\n".join(weak)
