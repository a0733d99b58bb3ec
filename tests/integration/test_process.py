"""Pipelines through the real app: equal to the same calls made one by one, checked up front."""

import base64
import io
import json
import time
import zipfile

import numpy as np
import pytest
from litestar.testing import TestClient

from center_api.bootstrap.app import create_app
from center_api.slices.process.schemas import PipelineOptions
from center_api.testing import check_slice, wait_for_task
from tests.conftest import assert_error, decode_png, encode_png, subject_on_background

PROCESS = "/api/v1/process/image"
BATCH = "/api/v1/process/batch"
CUTOUT = "/api/v1/cutout/segment"
COLOR = "/api/v1/background-replace/color"
TWO = [
    {"tool": "cutout"},
    {"tool": "background_replace", "replace": {"mode": "color", "color": "navy"}},
]
THREE = [*TWO, {"tool": "cutout", "channels": "alpha", "post_process_mask": False}]
TWICE = [{"tool": "cutout"}, {"tool": "cutout", "channels": "alpha"}]


@pytest.fixture(scope="module")
def photo() -> bytes:
    return encode_png(subject_on_background((160, 120))[0])


@pytest.fixture
def pipeline_client(make_settings, tmp_path):
    settings = make_settings(
        tasks={"results_dir": str(tmp_path / "results"), "workers": 1},
        usage={"flush_interval_s": 0.05},
        slices={"image_info": {"enabled": True}},
        pipelines={"twice": {"steps": TWICE, "description": "cut out, then its mask"}},
    )
    with TestClient(create_app(settings)) as client:
        yield client


def run(client, photo: bytes, steps) -> object:
    text = steps if isinstance(steps, str) else json.dumps(steps)
    return client.post(PROCESS, files={"file": ("a.png", photo, "image/png")}, data={"steps": text})


def call(client, path: str, image: bytes, **fields) -> bytes:
    response = client.post(path, files={"file": ("a.png", image, "image/png")}, data=fields)
    assert response.status_code == 200, response.text
    return response.content


def assert_same_pixels(left: bytes, right: bytes) -> None:
    a, b = decode_png(left).astype(int), decode_png(right).astype(int)
    assert a.shape == b.shape
    assert np.abs(a - b).max() <= 1


def test_two_and_three_steps_equal_the_calls_made_one_by_one(pipeline_client, photo):
    client = pipeline_client
    response = run(client, photo, TWO)
    assert response.status_code == 200, response.text
    assert response.headers["x-steps"] == "cutout,background_replace"
    assert len(response.headers["x-step-ms"].split(",")) == 2
    by_hand = call(client, COLOR, call(client, CUTOUT, photo), color="navy")
    assert_same_pixels(response.content, by_hand)

    response = run(client, photo, THREE)
    assert response.status_code == 200, response.text
    third = call(client, CUTOUT, by_hand, channels="alpha", post_process_mask="false")
    assert_same_pixels(response.content, third)


def test_a_named_pipeline_and_a_json_body(pipeline_client, photo):
    client = pipeline_client
    named = run(client, photo, "twice")
    assert named.status_code == 200, named.text
    body = {"image_file_b64": base64.b64encode(photo).decode(), "steps": TWICE}
    listed = client.post(PROCESS, json=body)
    assert listed.status_code == 200, listed.text
    assert_same_pixels(named.content, listed.content)
    assert_error(run(client, photo, "nope"), 422, "VALIDATION_ERROR")


def test_a_json_step_can_only_be_last(pipeline_client, photo):
    client = pipeline_client
    described = run(client, photo, [{"tool": "cutout"}, {"tool": "image_info"}])
    assert described.status_code == 200, described.text
    assert described.json()["has_alpha"] is True  # image_info saw the cutout, not the photo
    body = assert_error(
        run(client, photo, [{"tool": "image_info"}, {"tool": "cutout"}]), 422, "VALIDATION_ERROR"
    )
    assert body["error"]["details"] == {"step": 2, "tool": "cutout", "after": "image_info"}


@pytest.mark.parametrize(
    ("steps", "step"),
    [
        ([{"tool": "cutout"}, {"tool": "no_such_tool"}], 2),  # unknown tool
        ([{"tool": "cutout", "colour": "red"}], 1),  # unknown option
        ([{"tool": "cutout"}, {"tool": "cutout", "format": "tiff"}], 2),  # bad value
        ([{"tool": "tools"}], 1),  # takes no image
        ([{"tool": "process", "steps": TWO}], 1),  # no pipeline in a pipeline
        ([{"format": "png"}], 1),  # no tool
        (["cutout"], 1),  # not an object
    ],
)
def test_a_bad_step_is_refused_naming_it_before_any_work(pipeline_client, photo, steps, step):
    body = assert_error(run(pipeline_client, photo, steps), 422, "VALIDATION_ERROR")
    assert body["error"]["details"]["step"] == step
    assert f"Step {step}" in body["error"]["message"]


def test_steps_are_checked_before_the_image_is_read(pipeline_client):
    body = {"image_url": "http://127.0.0.1:9/never-fetched.png", "steps": [{"tool": "nope"}]}
    response = assert_error(pipeline_client.post(PROCESS, json=body), 422, "VALIDATION_ERROR")
    assert response["error"]["details"]["step"] == 1  # not URL_NOT_ALLOWED: nothing was read


@pytest.mark.parametrize(
    "steps", ["", "[]", "[{", '{"tool": "cutout"}', json.dumps([{"tool": "cutout"}] * 11)]
)
def test_steps_that_are_no_list_of_steps_are_refused(pipeline_client, photo, steps):
    assert_error(run(pipeline_client, photo, steps), 422, "VALIDATION_ERROR")


def test_a_switched_off_step_answers_feature_disabled_and_nothing_runs(make_settings, photo):
    settings = make_settings(
        slices={"background_replace": {"enabled": False}}, usage={"flush_interval_s": 0.05}
    )
    with TestClient(create_app(settings)) as client:
        body = assert_error(run(client, photo, TWO), 404, "FEATURE_DISABLED")
        assert body["error"]["details"]["step"] == 2
        time.sleep(0.3)
        usage = client.get("/api/v1/tools/usage", params={"tool": "cutout"}).json()
        assert usage["total"] == 0  # refused before step 1 ran


def test_usage_is_recorded_per_step(pipeline_client, photo):
    client = pipeline_client
    assert run(client, photo, [{"tool": "cutout"}, {"tool": "image_info"}]).status_code == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        rows = client.get("/api/v1/tools/usage", params={"limit": 10}).json()["items"]
        if len(rows) >= 3:
            break
        time.sleep(0.05)
    tools = sorted(row["tool"] for row in rows)
    assert tools == ["cutout", "image_info", "process"]
    assert len({row["request_id"] for row in rows}) == 1
    assert {row["outcome"] for row in rows} == {"success"}


def zip_of(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_a_batch_runs_the_pipeline_on_each_image_from_files_and_a_zip(pipeline_client, photo):
    client = pipeline_client
    other = encode_png(subject_on_background((160, 160))[0])
    archive = zip_of({"dir/b.png": other, "__MACOSX/._b.png": b"junk", "notes.txt": b"hi"})
    response = client.post(
        BATCH,
        files=[
            ("files", ("a.png", photo, "image/png")),
            ("archive", ("in.zip", archive, "application/zip")),
        ],
        data={"steps": "twice"},
    )
    assert response.status_code == 202, response.text
    view = wait_for_task(client, response.json()["id"])
    assert view["status"] == "COMPLETED" and view["children"] == {"total": 2, "COMPLETED": 2}
    result = zipfile.ZipFile(io.BytesIO(client.get(f"/api/v1/tasks/{view['id']}/result").content))
    manifest = json.loads(result.read("manifest.json"))
    assert [item["input_name"] for item in manifest["items"]] == ["a.png", "b.png"]
    names = [name for name in result.namelist() if name != "manifest.json"]
    assert_same_pixels(result.read(names[0]), run(client, photo, TWICE).content)
    assert_same_pixels(result.read(names[1]), run(client, other, TWICE).content)


def test_a_batch_refuses_bad_steps_and_zip_bombs_before_queueing(pipeline_client, photo):
    client = pipeline_client
    files = [("files", ("a.png", photo, "image/png"))]
    body = assert_error(
        client.post(BATCH, files=files, data={"steps": '[{"tool": "nope"}]'}),
        422,
        "VALIDATION_ERROR",
    )
    assert body["error"]["details"]["step"] == 1
    bomb = zip_of({"huge.png": b"\0" * (26 * 1024 * 1024)})  # inflates past the image limit
    assert len(bomb) < 100_000
    response = client.post(
        BATCH, files=[("archive", ("b.zip", bomb, "application/zip"))], data={"steps": "twice"}
    )
    assert_error(response, 422, "VALIDATION_ERROR")
    many = zip_of({f"{i}.png": photo for i in range(101)})
    response = client.post(
        BATCH, files=[("archive", ("m.zip", many, "application/zip"))], data={"steps": "twice"}
    )
    assert_error(response, 422, "VALIDATION_ERROR")
    not_zip = [("archive", ("x.zip", b"PK not really", "application/zip"))]
    assert_error(
        client.post(BATCH, files=not_zip, data={"steps": "twice"}), 422, "VALIDATION_ERROR"
    )
    assert_error(client.post(BATCH, data={"steps": "twice"}), 422, "MISSING_SOURCE")
    assert client.get("/api/v1/tasks").json()["total"] == 0


def test_the_catalog_shows_what_chains_and_each_options_schema(pipeline_client):
    tools = {t["name"]: t for t in pipeline_client.get("/api/v1/tools").json()["tools"]}
    assert tools["cutout"]["capabilities"]["takes_image"] is True
    assert tools["cutout"]["capabilities"]["gives_image"] is True
    assert tools["image_info"]["capabilities"]["gives_image"] is False
    assert tools["tools"]["capabilities"]["takes_image"] is False
    assert "format" in tools["cutout"]["options_schema"]["$defs"]["CutoutOptions"]["properties"]
    assert {r["path"] for r in tools["process"]["routes"]} == {PROCESS, BATCH}


def test_the_process_slice_honours_the_contract(tmp_path, photo):
    options = PipelineOptions(steps=[{"tool": "cutout", "channels": "alpha"}])
    report = check_slice("process", tmp_path, sample=photo, options=options)
    assert report.routes == [BATCH, PROCESS]
    assert report.result is not None and report.result.metadata["steps"] == "cutout"


def test_steps_go_through_the_cache_and_no_cache_computes_every_step_again(pipeline_client, photo):
    first = run(pipeline_client, photo, TWO)
    assert first.status_code == 200, first.text
    assert (first.headers["x-cache"], first.headers["x-step-cache"]) == ("MISS", "MISS,MISS")
    again = run(pipeline_client, photo, TWO)
    assert (again.headers["x-cache"], again.headers["x-step-cache"]) == ("HIT", "HIT,HIT")
    assert again.content == first.content
    fresh = pipeline_client.post(
        PROCESS,
        files={"file": ("a.png", photo, "image/png")},
        data={"steps": json.dumps(TWO)},
        headers={"Cache-Control": "no-cache"},
    )
    assert (fresh.headers["x-cache"], fresh.headers["x-step-cache"]) == ("MISS", "MISS,MISS")
    assert_same_pixels(fresh.content, first.content)
    # A longer pipeline shares its first two steps with the one above.
    longer = run(pipeline_client, photo, THREE)
    assert (longer.headers["x-cache"], longer.headers["x-step-cache"]) == ("MISS", "HIT,HIT,MISS")
