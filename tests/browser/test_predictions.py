"""The console's predictions page over GET /v1/predictions: the newest logged predictions
of a model with inputs, outputs, latency and ground truth, paged; the prediction log holds
production inputs, so a server with an admin token shows it only with the token."""
import json

import requests
from playwright.sync_api import expect

from conftest import TOKEN, close


def logged(site, model):
    """Every record of `model` in the log, oldest first, through the API's cursors."""
    records, cursor = [], ""
    while True:
        r = requests.get(site + "/v1/predictions", headers={"Authorization": f"Bearer {TOKEN}"},
                         params={"model": model, "since": "30d", "limit": 1000,
                                 **({"cursor": cursor} if cursor else {})}, timeout=30)
        assert r.status_code == 200, r.text
        records += [json.loads(line) for line in r.text.splitlines() if line.strip()]
        cursor = r.headers.get("X-Next-Cursor", "")
        if not cursor:
            return records


def test_predictions_page_asks_for_the_token_then_shows_the_log(site, console):
    page = console.page
    console.allow(lambda e: "status of 401" in e and "/v1/predictions" in e)
    records = logged(site, "cancer")
    assert len(records) == 8  # the fixture's drifted traffic: 8 requests of 25 rows
    page.goto(site + "/ui#/models/cancer/predictions")
    expect(page.locator("#read-token")).to_be_visible()
    expect(page.locator("tr[data-prediction]")).to_have_count(0)
    page.fill("#read-token", TOKEN)
    page.get_by_role("button", name="Use token").click()
    rows = page.locator("tr[data-prediction]")
    expect(rows).to_have_count(len(records))
    newest = records[-1]
    expect(rows.first).to_have_attribute("data-prediction", newest["id"])
    cells = rows.first.locator("td")
    expect(cells.nth(1)).to_have_text(f"v{newest['version']}")
    expect(cells.nth(2)).to_have_text(str(len(newest["inputs"])))
    assert close(cells.nth(3).inner_text(), newest["latency_us"] / 1000, digits=3)
    # Inputs by feature name, outputs and the ground truth that came with feedback.
    first_output = cells.nth(5).inner_text().strip("[").split(",")[0]
    assert close(first_output, newest["outputs"][0])
    assert cells.nth(6).inner_text().startswith(f"[{newest['ground_truth'][0]:g}, ")
    cells.nth(4).locator("summary").click()
    expect(cells.nth(4).locator("pre")).to_contain_text("row 0: mean_radius=")
    console.screenshot("console-predictions")


def test_predictions_without_ground_truth_say_so(site, console):
    page = console.page
    page.add_init_script(f"sessionStorage.setItem('inferd.token', '{TOKEN}')")
    records = logged(site, "wide")
    page.goto(site + "/ui#/models/wide/predictions")
    rows = page.locator("tr[data-prediction]")
    expect(rows).to_have_count(len(records))
    expect(rows.first.locator("td").nth(6)).to_have_text("not yet")
