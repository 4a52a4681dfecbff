"""The console on a server that serves a model folder (--model-repository): the models come
from the repository index and V2 metadata alone, and no page asks the registry for them."""
import shutil

import pytest
import requests
from playwright.sync_api import expect

from conftest import integration


@pytest.fixture(scope="module")
def folder_site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("folder")
    repo = tmp / "models"
    shutil.copytree(integration.DATA / "models", repo)
    server = integration.InferdServer(
        ["--host", "127.0.0.1", "--port", "0", "--store", f"sqlite:///{tmp}/inferd.db",
         "--spool-dir", str(tmp / "spool"), "--model-repository", str(repo)])
    try:
        server.wait_ready()
        yield server.url
    finally:
        server.stop()


def test_models_of_a_folder_with_their_formats_and_runtimes(folder_site, console):
    page = console.page
    page.goto(folder_site + "/ui#/models")
    for name in ("breast_cancer", "diabetes", "iris"):
        meta = requests.get(f"{folder_site}/v2/models/{name}").json()
        row = page.locator(f'tr[data-model="{name}"]')
        expect(row).to_contain_text("READY")
        expect(row.locator(".default-version")).to_have_text("v" + meta["parameters"]["version"])
        expect(row).to_contain_text(meta["platform"])
        expect(row).to_contain_text(meta["parameters"]["runtime"])
    page.locator('tr[data-model="iris"] a').first.click()
    expect(page.locator(".served-versions tr[data-version]")).to_have_count(1)
    expect(page.locator("main")).to_contain_text("Not in the registry: served from a model folder.")
