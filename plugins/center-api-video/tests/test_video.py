"""The video plugin through a real app: a short generated clip, the task API, limits, progress."""

import asyncio
import time

import numpy as np
import pytest
from center_api_video import SLICE
from center_api_video.samples import flicker, make_clip, read_result
from center_api_video.schemas import VideoOptions
from center_api_video.service import VideoService
from litestar.testing import TestClient

from center_api import sdk
from center_api.auth.key_store import ApiKeyStore, KeySpec
from center_api.bootstrap.app import create_app
from center_api.core.progress import TaskProgress, bind_progress, unbind_progress
from center_api.db.config import build_db_config
from center_api.testing import check_slice, kit_settings, slice_client, wait_for_task

VIDEO = "/api/v1/process/video"


@pytest.fixture
def client(tmp_path):
    extra = {"tasks": {"results_dir": str(tmp_path / "results")}}
    with slice_client(tmp_path, SLICE.name, extra=extra) as test_client:
        yield test_client


def submit(client, clip: bytes, name: str = "clip.mp4", **fields):
    return client.post(VIDEO, files={"file": (name, clip, "video/mp4")}, data=fields)


def test_a_clip_becomes_webm_with_alpha_at_its_frame_rate_with_its_audio(client):
    response = submit(client, make_clip(frames=6, fps=12))
    assert response.status_code == 202, response.text
    view = wait_for_task(client, response.json()["id"])
    assert view["status"] == "COMPLETED", view
    result = client.get(f"/api/v1/tasks/{view['id']}/result")
    assert result.headers["content-type"].startswith("video/webm")
    assert 'filename="clip.webm"' in result.headers["content-disposition"]
    clip = read_result(result.content)
    assert clip["codec"] == "vp9" and clip["fps"] == 12 and len(clip["frames"]) == 6
    alpha = clip["frames"][3][..., 3]
    assert alpha[36, 48] > 200 and alpha[2, 2] < 30  # subject opaque, background clear
    assert clip["audio_codec"] == "opus" and abs(clip["audio_s"] - 0.5) < 0.1


def test_a_background_colour_gives_h264_mp4_and_a_gif_is_read(client):
    response = submit(
        client, make_clip(frames=4, container="gif", audio=False), "a.gif", bg_color="navy"
    )
    assert response.status_code == 202, response.text
    view = wait_for_task(client, response.json()["id"])
    assert view["status"] == "COMPLETED", view
    clip = read_result(client.get(f"/api/v1/tasks/{view['id']}/result").content)
    assert clip["codec"] == "h264" and len(clip["frames"]) == 4 and clip["audio_codec"] is None
    corner = clip["frames"][2][2, 2, :3].astype(int)
    assert np.abs(corner - (0, 0, 128)).max() < 25  # navy where the background was


@pytest.mark.parametrize(
    ("config", "data", "status", "code"),
    [
        ({"max_frames": 3}, {}, 422, "VIDEO_LIMIT_EXCEEDED"),
        ({"max_duration_s": 0.2}, {}, 422, "VIDEO_LIMIT_EXCEEDED"),
        ({"max_width": 64}, {}, 422, "VIDEO_LIMIT_EXCEEDED"),
        ({"max_bytes": 1000}, {}, 413, "FILE_TOO_LARGE"),
        ({}, {"steps": '[{"tool": "nope"}]'}, 422, "VALIDATION_ERROR"),
        ({}, {"steps": '[{"tool": "process", "steps": "x"}]'}, 422, "VALIDATION_ERROR"),
    ],
)
def test_limits_and_bad_steps_are_refused_before_queueing(tmp_path, config, data, status, code):
    extra = {"slices": {"video": {"config": config}}}
    with slice_client(tmp_path, SLICE.name, extra=extra) as client:
        response = submit(client, make_clip(frames=6), **data)
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
        assert client.get("/api/v1/tasks").json()["total"] == 0


def test_an_odd_size_keeps_every_frame_and_a_tiny_one_is_refused(client):
    odd = make_clip(frames=3, size=(67, 51), container="gif", audio=False)
    view = wait_for_task(client, submit(client, odd, "odd.gif").json()["id"])
    assert view["status"] == "COMPLETED", view
    frames = read_result(client.get(f"/api/v1/tasks/{view['id']}/result").content)["frames"]
    assert len(frames) == 3 and frames[0].shape == (50, 66, 4)
    tiny = submit(client, make_clip(frames=2, size=(8, 8), container="gif", audio=False), "t.gif")
    assert tiny.status_code == 422 and tiny.json()["error"]["details"]["limit"] == "min_size"


def test_what_is_not_a_video_is_refused(client):
    assert submit(client, b"\x89PNG\r\n\x1a\n not a video").status_code == 415
    broken = make_clip(frames=2)[:200]
    assert submit(client, broken).json()["error"]["code"] in (
        "INVALID_VIDEO",
        "VIDEO_LIMIT_EXCEEDED",
    )
    assert client.post(VIDEO, data={"steps": ""}).json()["error"]["code"] == "MISSING_SOURCE"


def test_off_by_default_and_the_pipeline_routes_stay(tmp_path):
    with slice_client(tmp_path) as client:
        assert submit(client, make_clip(frames=2)).json()["error"]["code"] == "FEATURE_DISABLED"
        assert client.post("/api/v1/process/image", data={"steps": "[]"}).status_code == 422


def test_progress_rises_per_frame_and_a_pause_stops_between_frames(client):
    app = client.app
    reports: list[float] = []
    positions: list[int] = []

    async def scenario() -> None:
        async def on_report(fraction: float, stage: str | None) -> None:
            reports.append(fraction)

        async def on_checkpoint(position: int, state: dict | None) -> None:
            positions.append(position)
            if position == 3:
                progress.request_pause()

        progress = TaskProgress("t1", on_report=on_report, on_checkpoint=on_checkpoint)
        token = bind_progress(progress)
        try:
            async with app.state.dishka_container() as scope:
                service = await scope.get(VideoService)
                await service.process(make_clip(frames=8), VideoOptions())
        finally:
            unbind_progress(token)

    with pytest.raises(sdk.TaskPaused) as paused:
        client.blocking_portal.call(scenario)
    assert paused.value.position == 3 and positions == [1, 2, 3]
    assert reports == sorted(reports) and all(0 <= r < 1 for r in reports)
    assert any(0 < r < 1 for r in reports)  # an intermediate value (reports are throttled)


def test_a_running_video_pauses_between_frames_and_resumes_whole(client):
    task_id = submit(client, make_clip(frames=10, audio=False)).json()["id"]
    deadline = time.monotonic() + 60
    while (view := client.get(f"/api/v1/tasks/{task_id}").json())["progress"] <= 10:
        assert time.monotonic() < deadline, view
        time.sleep(0.05)
    assert client.put(f"/api/v1/tasks/{task_id}/pause").status_code in (200, 202)
    paused = wait_for_task(client, task_id, statuses=("PAUSED", "COMPLETED"))
    assert paused["status"] == "PAUSED" and 10 < paused["progress"] < 100, paused
    assert paused["stage"].startswith("frame ")
    assert client.put(f"/api/v1/tasks/{task_id}/resume").status_code in (200, 202)
    view = wait_for_task(client, task_id)
    assert view["status"] == "COMPLETED", view
    frames = read_result(client.get(f"/api/v1/tasks/{task_id}/result").content)["frames"]
    assert len(frames) == 10  # started again from the first frame: nothing lost or doubled


def test_smoothing_steadies_the_mask_of_a_static_shot(client):
    clip = make_clip(frames=6, noise=6.0, moving=False, audio=False)
    results = {}
    for smoothing in ("0", "0.8"):
        view = wait_for_task(client, submit(client, clip, smoothing=smoothing).json()["id"])
        frames = read_result(client.get(f"/api/v1/tasks/{view['id']}/result").content)["frames"]
        results[smoothing] = flicker(frames)
    assert results["0.8"] < results["0"] * 0.7, results


def test_the_plugin_honours_the_contract(tmp_path):
    report = check_slice(SLICE.name, tmp_path, sample=make_clip(frames=2, audio=False))
    assert report.routes == [VIDEO]
    assert report.result is not None and report.result.media_type == "video/webm"


def test_a_video_is_charged_every_frame_against_the_megapixel_quota(tmp_path):
    """One call, but frames x width x height megapixels: a long video is no free ride."""
    extra = {"tasks": {"results_dir": str(tmp_path / "results")}, "auth": {"mode": "api_key"}}
    settings = kit_settings(tmp_path, (SLICE.name,), extra, None)

    async def create_key() -> str:
        config = build_db_config(settings.database)
        try:
            _, token = await ApiKeyStore(config).create(KeySpec(name="v", quota_megapixels=0.1))
            return token
        finally:
            await config.get_engine().dispose()

    token = asyncio.run(create_key())
    clip = make_clip(frames=8, size=(96, 72))  # 8 x 96 x 72 = 0.0553 MP
    with TestClient(create_app(settings)) as api:
        api.headers["X-API-Key"] = token
        files = {"file": ("clip.mp4", clip, "video/mp4")}
        first = api.post(VIDEO, files=files)
        assert first.status_code == 202, first.text
        refused = api.post(VIDEO, files=files)
        assert refused.status_code == 402, refused.text
        details = refused.json()["error"]["details"]
        assert details["requested_megapixels"] == pytest.approx(0.0553, abs=1e-4)
        assert details["used_megapixels"] == pytest.approx(0.0553, abs=1e-4)
        view = wait_for_task(api, first.json()["id"])
        assert view["status"] == "COMPLETED", view
