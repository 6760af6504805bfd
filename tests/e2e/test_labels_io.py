"""Labels in and out in the browser: a zip of class folders becomes classes and labels, a labels file
relabels images and lists the rows it could not apply, and the labels download as CSV and ImageFolder zip."""

import csv
import io
import zipfile
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.helpers import shot
from tests.live_app import LiveApp
from tests.synthetic_images import dataset, zip_of

PASSWORD = "a long password"


def test_import_a_class_folder_zip_then_export_the_labels(page: Page, live: LiveApp, tmp_path: Path) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    api = f"{live.base_url}/api/v1"
    page.request.post(f"{api}/auth/signup", data={"email": "folders@example.com", "password": PASSWORD})
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "ll_csrf")
    created = page.request.post(f"{api}/projects", data={"name": "Pets"}, headers={"X-CSRF-Token": csrf})
    project_id = created.json()["id"]
    page.goto(f"{live.base_url}/#/projects/{project_id}/upload")
    expect(page.get_by_test_id("class-folder-rule")).to_contain_text("becomes a class")

    images = dataset(per_class=2, seed=31)
    archive = tmp_path / "pets.zip"
    archive.write_bytes(zip_of([(f"pets/{kind}/{name}", data) for name, kind, data in images]))
    page.get_by_test_id("upload-input").set_input_files(str(archive))
    page.get_by_test_id("upload-submit").click()
    expect(page.get_by_test_id("upload-summary")).to_contain_text("6 accepted", timeout=120_000)
    expect(page.get_by_test_id("upload-classes")).to_have_text(
        "6 images labeled from class folders · new classes: circle, square, triangle")
    expect(page.get_by_test_id("upload-row").first).to_contain_text("circle")
    shot(page, "upload-class-folders", full_page=True)

    # A labels file: one image moves to a new class, one row names no image and is listed with the reason.
    labels = tmp_path / "labels.csv"
    labels.write_text(f"filename,class\n{images[0][0]},Round\nnot-here.png,circle\n")
    page.get_by_test_id("labels-import-input").set_input_files(str(labels))
    page.get_by_test_id("labels-import-submit").click()
    expect(page.get_by_test_id("labels-import-summary")).to_contain_text("1 of 2 rows matched an image · 1 labeled")
    expect(page.get_by_test_id("labels-import-summary")).to_contain_text("new classes: Round")
    expect(page.get_by_test_id("labels-import-unmatched")).to_contain_text("not-here.png")
    # A malformed file changes nothing and says what to fix.
    labels.write_text("picture;kind\na.png;cat\n")
    page.get_by_test_id("labels-import-input").set_input_files(str(labels))
    page.get_by_test_id("labels-import-submit").click()
    expect(page.get_by_test_id("labels-import").get_by_test_id("error")).to_contain_text("filename")

    page.goto(f"{live.base_url}/#/projects/{project_id}/images")
    export = page.get_by_test_id("labels-export")
    expect(export).to_contain_text("6 labels")
    expect(page.get_by_test_id("images-total")).to_have_text("6 images")
    shot(page, "labels-export")
    with page.expect_download() as caught:
        page.get_by_test_id("labels-export-csv").click()
    rows = list(csv.DictReader(io.StringIO(Path(caught.value.path()).read_text())))
    expected = {name: kind for name, kind, _ in images} | {images[0][0]: "Round"}
    assert {r["filename"]: r["class"] for r in rows} == expected
    with page.expect_download() as caught:
        page.get_by_test_id("labels-export-imagefolder").click()
    with zipfile.ZipFile(caught.value.path()) as zipped:
        assert sorted(zipped.namelist()) == sorted(f"{kind}/{name}" for name, kind in expected.items())
