"""Labels in and out over REST: class folders become classes and labels, a labels file labels the images
already there, and the labels go out as CSV, JSON and an ImageFolder zip (owner only)."""

import csv
import io
import json
import tarfile
import zipfile
from typing import Any

import httpx

from tests.api_client import ClientFactory, file_report, signed_up_client, wait_job
from tests.synthetic_images import dataset, zip_of

APP_ENV = {"LABELLIGHT_PRETRAINED": "false", "LABELLIGHT_MAX_CLASSES_PER_PROJECT": "4"}


def _project(client: httpx.Client, name: str) -> int:
    return int(client.post("/api/v1/projects", json={"name": name}).raise_for_status().json()["id"])


def _ingest(client: httpx.Client, pid: int, files: list[tuple[str, bytes]]) -> dict[str, Any]:
    response = client.post(f"/api/v1/projects/{pid}/uploads", files=[("files", (n, d)) for n, d in files])
    return wait_job(client, response.raise_for_status().json()["id"])


def _labels(client: httpx.Client, pid: int) -> dict[str, str]:
    """File name → class name of the project's labeled images."""
    classes = {c["id"]: c["name"] for c in client.get(f"/api/v1/projects/{pid}").json()["classes"]}
    items = client.get(f"/api/v1/projects/{pid}/images", params={"limit": 1000}).json()["items"]
    return {i["filename"]: classes[i["class_id"]] for i in items if i["class_id"] is not None}


def _image_count(client: httpx.Client, pid: int) -> int:
    return int(client.get(f"/api/v1/projects/{pid}/images").json()["total"])


def test_a_zip_of_class_folders_makes_classes_and_labels(http: ClientFactory) -> None:
    client = signed_up_client(http, "tree@example.com")
    pid = _project(client, "tree")
    # An existing class differing only in case takes the folder's images: "Circle" is "circle".
    client.post(f"/api/v1/projects/{pid}/classes", json={"name": "Circle"}).raise_for_status()
    assert client.post(f"/api/v1/projects/{pid}/classes", json={"name": "circle"}).status_code == 409
    images = dataset(per_class=2, seed=11)
    tree = [(f"shapes/{kind}/{name}", data) for name, kind, data in images] + [("shapes/square/notes.txt", b"x")]
    job = _ingest(client, pid, [("shapes.zip", zip_of(tree))])
    assert job["state"] == "succeeded", job
    result = job["result"]
    assert result["accepted"] == 6
    assert result["rejected"] == 1
    assert sorted(result["classes_created"]) == ["square", "triangle"]
    assert result["labeled"] == 6
    assert "class_folders_hint" not in result
    assert _labels(client, pid) == {name: ("Circle" if kind == "circle" else kind) for name, kind, _ in images}
    accepted = file_report(client, job["id"], "accepted")
    assert {e["label"] for e in accepted} == {"Circle", "square", "triangle"}

    # Two circles again, in a tar under the square folder: duplicates keep the labels they have.
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, _, data in images[:2]:
            info = tarfile.TarInfo(f"square/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("more/extra.png")
        extra = dataset(per_class=1, seed=12)[0][2]
        info.size = len(extra)
        tar.addfile(info, io.BytesIO(extra))
    again = _ingest(client, pid, [("again.tar.gz", buffer.getvalue())])
    assert again["state"] == "succeeded"
    assert again["result"]["duplicate"] == 2
    assert again["result"]["classes_created"] == ["more"]
    assert again["result"]["labeled"] == 1
    notes = [e for e in file_report(client, again["id"], "duplicate") if "label_note" in e]
    assert len(notes) == 2
    assert all("already labeled" in e["label_note"] for e in notes)
    assert _labels(client, pid)[images[0][0]] == "Circle"


def test_a_picked_folder_keeps_its_paths_and_loose_images_give_a_hint(http: ClientFactory) -> None:
    client = signed_up_client(http, "picked@example.com")
    pid = _project(client, "picked")
    images = dataset(per_class=1, seed=13)
    ids = []
    for name, kind, data in images:  # what the browser's folder picker sends: the path below the picked folder
        opened = client.post(f"/api/v1/projects/{pid}/upload-sessions",
                             json={"filename": f"photos/{kind}/{name}", "size": len(data)}).raise_for_status().json()
        client.put(f"/api/v1/upload-sessions/{opened['id']}", content=data,
                   headers={"Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"}).raise_for_status()
        ids.append(opened["id"])
    started = client.post(f"/api/v1/projects/{pid}/upload-sessions/complete", json={"session_ids": ids})
    job = wait_job(client, started.raise_for_status().json()["id"])
    assert job["state"] == "succeeded"
    assert job["result"]["labeled"] == 3
    assert _labels(client, pid) == {name: kind for name, kind, _ in images}

    loose = _project(client, "loose")
    more = dataset(per_class=1, seed=14)
    job = _ingest(client, loose, [("mixed.zip", zip_of([(f"{more[0][1]}/{more[0][0]}", more[0][2]),
                                                        (more[1][0], more[1][2])]))])
    assert job["state"] == "succeeded"
    assert job["result"]["accepted"] == 2
    assert job["result"]["labeled"] == 0
    assert job["result"]["classes_created"] == []
    assert "beside the folders" in job["result"]["class_folders_hint"]


def test_class_folders_past_the_cap_import_nothing(http: ClientFactory) -> None:
    client = signed_up_client(http, "cap@example.com")
    pid = _project(client, "cap")
    data = dataset(per_class=2, seed=15)
    tree = [(f"class{i}/{name}", blob) for i, (name, _, blob) in enumerate(data)]  # 6 folders, cap 4
    job = _ingest(client, pid, [("many.zip", zip_of(tree))])
    assert job["state"] == "failed"
    assert "LABELLIGHT_MAX_CLASSES_PER_PROJECT" in job["error"]
    assert "nothing was imported" in job["error"]
    project = client.get(f"/api/v1/projects/{pid}").json()
    assert project["classes"] == []
    assert _image_count(client, pid) == 0
    # Nothing left behind: the same images go in afterwards as new images.
    assert _ingest(client, pid, [(n, b) for n, _, b in data])["result"]["accepted"] == 6


def test_a_labels_file_labels_the_images_there_and_reports_the_rest(http: ClientFactory) -> None:
    client = signed_up_client(http, "csv@example.com")
    pid = _project(client, "csv")
    images = dataset(per_class=2, seed=16)
    assert _ingest(client, pid, [(n, b) for n, _, b in images])["state"] == "succeeded"
    rows = [("filename", "class")] + [(f"some/dir/{n}", k.upper() if i == 0 else k) for i, (n, k, _) in
                                      enumerate(images[:4])]
    rows += [("missing.png", "circle"), (images[0][0], "square")]
    text = "\n".join(",".join(r) for r in rows) + "\n"
    answer = client.post(f"/api/v1/projects/{pid}/labels/import", files={"file": ("labels.csv", text.encode())})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["rows"] == 6
    assert report["matched"] == 4
    assert report["labeled"] == 4
    assert sorted(report["classes_created"]) == ["CIRCLE", "square"]  # "circle" on line 3 is the same class
    assert report["unmatched_count"] == 2
    reasons = {r["filename"]: r["reason"] for r in report["unmatched"]}
    assert "no image" in reasons["missing.png"]
    assert "line 2" in reasons[images[0][0]]
    labels = _labels(client, pid)
    assert labels[images[1][0]] == "CIRCLE"
    assert labels[images[2][0]] == "square"
    assert len(labels) == 4

    # JSON in the export's shape; re-applying the same labels changes nothing.
    exported = client.get(f"/api/v1/projects/{pid}/labels/export", params={"format": "json"}).json()
    again = client.post(f"/api/v1/projects/{pid}/labels/import",
                        files={"file": ("labels.json", json.dumps(exported).encode())}).json()
    assert again["matched"] == 4
    assert again["unchanged"] == 4
    assert again["labeled"] == 0

    before = _labels(client, pid)
    bad = {
        "labels.csv": b"name;label\na.png;cat\n",  # no filename/class header
        "rows.csv": b"filename,class\n" + images[5][0].encode() + b",\n",  # empty class
        "none.csv": b"filename,class\nnothing.png,cat\n",  # names no image
        "cap.json": json.dumps({n: f"new{i}" for i, (n, _, _) in enumerate(images)}).encode(),  # past the cap
        "broken.json": b'{"a.png": ',
    }
    for name, data in bad.items():
        refused = client.post(f"/api/v1/projects/{pid}/labels/import", files={"file": (name, data)})
        assert refused.status_code == 400, (name, refused.text)
        assert name in refused.json()["detail"]
    assert _labels(client, pid) == before
    assert len(client.get(f"/api/v1/projects/{pid}").json()["classes"]) == 2


def test_labels_export_as_csv_json_and_imagefolder_owner_only(http: ClientFactory) -> None:
    client = signed_up_client(http, "export@example.com")
    pid = _project(client, "export")
    images = dataset(per_class=2, seed=17)
    tree = [(f"{kind}/{name}", data) for name, kind, data in images]
    assert _ingest(client, pid, [("tree.zip", zip_of(tree))])["result"]["labeled"] == 6
    # One more image, unlabeled: it is not exported.
    _ingest(client, pid, [("loose.png", dataset(per_class=1, seed=18)[0][2])])

    as_csv = client.get(f"/api/v1/projects/{pid}/labels/export", params={"format": "csv"})
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert {(r["filename"], r["class"]) for r in rows} == {(n, k) for n, k, _ in images}
    assert all(len(r["sha256"]) == 64 and r["labeled_at"] for r in rows)

    as_json = client.get(f"/api/v1/projects/{pid}/labels/export", params={"format": "json"}).json()
    assert sorted(e["filename"] for e in as_json) == sorted(r["filename"] for r in rows)

    folder = client.get(f"/api/v1/projects/{pid}/labels/export", params={"format": "imagefolder"})
    assert folder.status_code == 200
    assert folder.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(folder.content)) as archive:
        assert archive.testzip() is None
        contents = {name: archive.read(name) for name in archive.namelist()}
    assert contents == {f"{kind}/{name}": data for name, kind, data in images}

    # The zip goes back in as the same classes and labels.
    other = _project(client, "round trip")
    back = _ingest(client, other, [("export.zip", folder.content)])
    assert back["result"]["labeled"] == 6
    assert _labels(client, other) == _labels(client, pid)

    stranger = signed_up_client(http, "stranger@example.com")
    for fmt in ("csv", "json", "imagefolder"):
        assert stranger.get(f"/api/v1/projects/{pid}/labels/export", params={"format": fmt}).status_code == 404
    assert stranger.post(f"/api/v1/projects/{pid}/labels/import",
                         files={"file": ("l.csv", b"filename,class\na.png,x\n")}).status_code == 404
    assert client.get(f"/api/v1/projects/{pid}/labels/export", params={"format": "xml"}).status_code == 422

    # Another image under a file name the class has already: the zip tells the two apart by content.
    twin, fresh = (data for _, _, data in dataset(per_class=1, seed=19)[:2])
    _ingest(client, pid, [("twin.zip", zip_of([(f"circle/{images[0][0]}", twin), ("square/new.png", fresh)]))])
    folder = client.get(f"/api/v1/projects/{pid}/labels/export", params={"format": "imagefolder"})
    with zipfile.ZipFile(io.BytesIO(folder.content)) as archive:
        names = archive.namelist()
        assert len(names) == 8
        stem = images[0][0].rsplit(".", 1)[0]
        renamed = [n for n in names if n.startswith(f"circle/{stem}-")]
        assert len(renamed) == 1
        assert archive.read(renamed[0]) == twin
