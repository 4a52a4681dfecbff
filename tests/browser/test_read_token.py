"""The console on a server with a read token (INFERD_READ_TOKEN) and an admin token: the pages
that read the registry or the monitoring reports ask for a token and work with the read token;
a change made with the read token is refused and asks for the admin token."""
import pytest
import requests
from playwright.sync_api import expect

from conftest import DATA, integration, train

READ, ADMIN = "console-read-token", "console-admin-token"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("guarded")
    store = f"sqlite:///{tmp}/inferd.db"
    train(store, DATA / "breast_cancer.csv", "cancer", "--alias", "production", rounds=3)
    train(store, DATA / "breast_cancer.csv", "cancer", rounds=3)
    server = integration.InferdServer(
        ["--host", "127.0.0.1", "--port", "0", "--store", store, "--spool-dir", str(tmp / "spool")],
        env={"INFERD_READ_TOKEN": READ, "INFERD_ADMIN_TOKEN": ADMIN})
    try:
        server.wait_ready()
        yield server.url
    finally:
        server.stop()


def refused(status):
    return lambda e: f"status of {status}" in e


def test_reads_ask_for_the_read_token_and_changes_for_the_admin_token(guarded, console):
    page = console.page
    console.allow(refused(401))  # the reads before the token, the change
    console.allow(refused(403))  # the change with the read token
    assert requests.get(guarded + "/api/2.0/mlflow/registered-models/search").status_code == 401
    page.goto(guarded + "/ui#/models")
    expect(page.locator("#banner")).to_contain_text("read token")
    page.fill("#read-token", READ)
    page.get_by_role("button", name="Use token").click()
    expect(page.locator('tr[data-model="cancer"]')).to_contain_text("@production → v1")
    expect(page.locator("#banner")).to_be_hidden()
    # A change with the read token: refused, and the dialog asks for the admin token.
    page.goto(guarded + "/ui#/models/cancer/versions/2")
    expect(page.locator(".dataset-md5")).not_to_be_empty()
    page.fill("#alias-name", "production")
    page.click("#move-alias")
    page.click("#confirm-ok")
    expect(page.locator("#confirm-token-why")).to_have_text("The server refused this token.")
    page.fill("#token", ADMIN)
    page.click("#confirm-ok")
    expect(page.locator(".toast")).to_contain_text("@production now points at version 2")
    moved = requests.get(guarded + "/api/2.0/mlflow/registered-models/get",
                         params={"name": "cancer"}, headers={"Authorization": f"Bearer {READ}"})
    assert {"alias": "production", "version": "2"} in moved.json()["registered_model"]["aliases"]
    # The admin token reads too: the pages go on working with it.
    page.goto(guarded + "/ui#/models/cancer/drift")
    expect(page.locator("tr[data-feature]")).to_have_count(30)
