"""``vrag serve`` over a real index of generated lectures, through a real uvicorn server on loopback: the
routes as documented, HTTP ranges, keyframes, index jobs with server-sent progress while searches go on,
and the security cases (paths never from the client, API key, limits, one-line errors)."""

from __future__ import annotations

import http.client
import io
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.serving import Corpus, Server, lecture_corpus, serving  # noqa: F401 (a fixture)
from vrag.errors import ConfigError
from vrag.types import Hit

pytestmark = pytest.mark.integration

ROUTES = {
    "/api/health", "/api/search", "/api/ask", "/api/videos", "/api/videos/{video_id}",
    "/api/videos/{video_id}/media", "/api/segments/{segment_id}/keyframe.jpg", "/api/index",
    "/api/jobs/{job_id}/events",
}  # fmt: skip


def fake_llm(prompt: str) -> str:
    """The ``[llm]`` model of one test (``py:tests.test_serve:fake_llm``): cites the gradient slide."""
    assert "Question: why does the loss diverge" in prompt
    made_up = "[other.mp4 01:00–01:10]"
    return f"A step that is too large overshoots [intro_to_ml.mp4 00:12.0–00:24.0] (also {made_up})."


@pytest.fixture(scope="module")
def corpus(lecture_corpus: Corpus) -> Corpus:  # noqa: F811
    return lecture_corpus


@pytest.fixture(scope="module")
def server(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A read-only server (tests here do not change its index); uploads limited to 200 kB."""
    index = corpus.copy(tmp_path_factory.mktemp("served") / "index")
    roots = [corpus.videos[LECTURE].parent]
    with serving(index, roots=roots, max_upload_bytes=200_000) as (srv, _):
        yield srv


LECTURE = "intro_to_ml.mp4"


def _get(server: Server, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(server.url + path, timeout=30, **kwargs)


def _one_line_error(response: httpx.Response, status: int, kind: str | None = None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert (
        set(body) == {"error", "detail"} and "\n" not in body["detail"] and "Traceback" not in response.text
    )
    if kind is not None:
        assert body["error"] == kind
    return str(body["detail"])


def _raw(server: Server, path: str) -> tuple[int, bytes]:
    """A GET of ``path`` exactly as written (httpx would normalise ``..`` and encodings away)."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# ------------------------------------------------------------------------------------------- search


def test_search_hits_carry_the_cli_fields_a_keyframe_and_a_seekable_media_url(
    server: Server, corpus: Corpus
) -> None:
    assert _get(server, "/api/health").json()["status"] == "ok"
    hits = _get(server, "/api/search", params={"q": "gradient descent learning rate", "k": 3}).json()
    slide = corpus.truth[LECTURE][1]  # "Gradient descent"
    top = hits[0]
    assert Path(top["video"]).name == LECTURE and (top["start"], top["end"]) == (slide["start"], slide["end"])
    assert set(top) == set(Hit.from_dict(top).to_dict()) | {"keyframe_url"}  # `vrag search --json` + keyframe
    media = f"{server.url}/api/videos/{top['video_id']}/media"
    moment = top["moment"] or top  # the URL plays the moment that answers, inside the slide's segment
    assert slide["start"] <= moment["start"] < moment["end"] <= slide["end"]
    assert top["url"] == f"{media}#t={moment['start']!r},{moment['end']!r}"

    picture = _get(server, urlsplit(top["keyframe_url"]).path)
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    from PIL import Image

    image = Image.open(io.BytesIO(picture.content))
    assert image.format == "JPEG" and image.size == (320, 180) and len(picture.content) < 40_000
    # the slide's keyframe: a white slide with a dark title bar on top
    pixels = image.convert("L")
    assert pixels.getpixel((160, 170)) > 200 and pixels.getpixel((160, 8)) < 120


def test_every_search_option_goes_through_and_is_checked(server: Server, corpus: Corpus) -> None:
    webm = "video_search.webm"
    only = _get(server, "/api/search", params={"q": "vectors", "video": webm, "k": 10}).json()
    assert only and {Path(h["video"]).name for h in only} == {webm}
    late = _get(server, "/api/search", params={"q": "vectors", "after": "0:12", "before": 36}).json()
    assert late and all(h["start"] >= 12 and h["end"] <= 36 for h in late)
    bm25 = _get(server, "/api/search", params=[("q", "gradient"), ("channel", "bm25")]).json()
    assert bm25 and all(set(h["channel_scores"]) == {"bm25"} for h in bm25)
    merged = _get(server, "/api/search", params={"q": "lecture", "video": LECTURE, "k": 10, "merge": "true"})
    assert len(merged.json()) == 1  # the slides tile the lecture: merged into one span

    detail = _one_line_error(_get(server, "/api/search", params={"q": "x", "per_vidoe": 2}), 422)
    assert "did you mean 'per_video'" in detail
    assert "whole number" in _one_line_error(_get(server, "/api/search", params={"q": "x", "k": 0}), 400)
    assert "at most 100" in _one_line_error(_get(server, "/api/search", params={"q": "x", "k": 500}), 400)
    assert "not in this index" in _one_line_error(
        _get(server, "/api/search", params={"q": "x", "video": "nope.mp4"}), 400, "ConfigError"
    )
    assert "q:" in _one_line_error(_get(server, "/api/search"), 400)


def test_a_bounded_load_of_100_searches_from_20_clients_has_no_errors(server: Server) -> None:
    queries = ["gradient descent", "shot detection", "vector database", "overfitting", "embeddings"]

    def client(n: int) -> list[int]:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            return [
                len(
                    http.get("/api/search", params={"q": queries[(n + i) % 5], "k": 5})
                    .raise_for_status()
                    .json()
                )
                for i in range(5)
            ]

    with ThreadPoolExecutor(20) as pool:
        counts = [c for batch in pool.map(client, range(20)) for c in batch]
    assert len(counts) == 100 and min(counts) == 5


# ------------------------------------------------------------------------------------------- ask


def test_ask_returns_checked_citations_that_point_at_the_media(server: Server, corpus: Corpus) -> None:
    answer = httpx.post(
        f"{server.url}/api/ask", json={"question": "why does the loss diverge?", "k": 3}, timeout=30
    )
    body = answer.json()
    assert set(body) >= {"answer", "citations", "evidence"}
    first = body["citations"][0]
    slide = corpus.truth[LECTURE][1]
    assert Path(first["video"]).name == LECTURE  # it cites the moment inside the right slide
    assert slide["start"] <= first["start"] < first["end"] <= slide["end"]
    assert first["marker"] in body["answer"] and first["url"].endswith(
        f"#t={first['start']!r},{first['end']!r}"
    )
    assert all(e["keyframe_url"] for e in body["evidence"])

    detail = _one_line_error(
        httpx.post(f"{server.url}/api/ask", json={"question": "x", "llm": "openai:gpt-4o"}, timeout=30), 422
    )
    assert "server's [llm] configuration" in detail


def test_answers_use_the_model_of_the_servers_llm_config(corpus: Corpus, server: Server) -> None:
    from vrag.config import LLMConfig

    llm = LLMConfig(model="py:tests.test_serve:fake_llm")
    with serving(Path(server_index(server)), llm=llm, roots=[corpus.videos[LECTURE].parent]) as (other, _):
        body = httpx.post(
            f"{other.url}/api/ask", json={"question": "why does the loss diverge?"}, timeout=30
        ).json()
    assert body["answer"].startswith("A step that is too large overshoots [intro_to_ml.mp4 00:12.0–00:24.0]")
    assert body["dropped_citations"] == ["[other.mp4 01:00–01:10]"] and len(body["citations"]) == 1


def server_index(server: Server) -> str:
    return str(server.server.config.app.state.service.index.info().location)


# ------------------------------------------------------------------------------------------- media


def test_media_is_served_with_http_ranges(server: Server, corpus: Corpus) -> None:
    video = next(v for v in _get(server, "/api/videos").json() if v["name"] == LECTURE)
    path = urlsplit(video["media_url"]).path
    data = corpus.videos[LECTURE].read_bytes()
    size = len(data)

    whole = _get(server, path)
    assert whole.status_code == 200 and whole.content == data and whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    part = _get(server, path, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    rest = _get(server, path, headers={"Range": f"bytes={size - 10}-"})
    assert rest.status_code == 206 and rest.content == data[-10:]
    suffix = _get(server, path, headers={"Range": "bytes=-50"})
    assert suffix.status_code == 206 and suffix.content == data[-50:]
    beyond = _get(server, path, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{size}"
    webm = next(v for v in _get(server, "/api/videos").json() if v["name"].endswith(".webm"))
    assert (
        _get(server, urlsplit(webm["media_url"]).path, headers={"Range": "bytes=0-3"}).headers["content-type"]
        == "video/webm"
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/videos/../../../../etc/passwd/media",
        "/api/videos/..%2F..%2F..%2F..%2Fetc%2Fpasswd/media",
        "/api/videos/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd/media",
        "/api/videos/%2Fetc%2Fpasswd/media",
        "/api/videos//etc/passwd/media",
        "/api/videos/%252Fetc%252Fpasswd/media",
        "/api/segments/..%2F..%2Fetc%2Fpasswd/keyframe.jpg",
        "/api/segments/%2Fetc%2Fpasswd/keyframe.jpg",
        "/static/..%2F_app.py",
        "/static/../serve/_app.py",
        "/static/%2Fetc%2Fpasswd",
    ],
)
def test_paths_from_the_client_never_reach_the_disk(server: Server, path: str) -> None:
    status, body = _raw(server, path)
    assert status == 404 and b"root:" not in body and b"import" not in body


def test_files_outside_the_roots_are_not_served_even_through_a_symlink(
    corpus: Corpus, tmp_path: Path
) -> None:
    """A video indexed inside the served folder is later replaced by a symlink pointing out of it."""
    import shutil

    from vrag.index import VideoIndex

    served, elsewhere = tmp_path / "served", tmp_path / "elsewhere"
    served.mkdir(), elsewhere.mkdir()
    shutil.copy(corpus.videos[LECTURE], served / "talk.mp4")
    index_dir = corpus.copy(tmp_path / "index")
    with VideoIndex.open(index_dir) as index:
        index.delete([LECTURE])
        assert index.add([served / "talk.mp4"], progress=False).indexed == (str(served / "talk.mp4"),)
        video_id = next(v.video_id for v in index.videos() if v.path.endswith("talk.mp4"))
        segment = next(iter(index.retriever.store.iter_segments(video_id))).id
    (served / "talk.mp4").rename(elsewhere / "talk.mp4")
    (served / "talk.mp4").symlink_to(elsewhere / "talk.mp4")

    with serving(index_dir, roots=[served]) as (srv, _):
        _one_line_error(_get(srv, f"/api/videos/{video_id}/media"), 404)
        _one_line_error(_get(srv, f"/api/segments/{segment}/keyframe.jpg"), 404)
        outside = [
            str(served / "talk.mp4"),
            str(served / ".." / "index"),
            "/etc",
            str(elsewhere),
            str(served),
        ]
        for path in outside:  # the last: a folder inside the root holding the link out of it
            response = httpx.post(f"{srv.url}/api/index", json={"paths": [path]}, timeout=30)
            assert "outside the folders" in _one_line_error(response, 403, "Forbidden")
    with serving(index_dir, roots=[served, elsewhere]) as (srv, _):  # the same link, its target now served
        assert _get(srv, f"/api/videos/{video_id}/media", headers={"Range": "bytes=0-9"}).status_code == 206
        assert _get(srv, f"/api/segments/{segment}/keyframe.jpg").status_code == 200


# ------------------------------------------------------------------------------------------- videos and jobs


def test_videos_are_listed_deleted_and_indexed_again_with_live_progress_while_searches_go_on(
    corpus: Corpus, tmp_path: Path
) -> None:
    index_dir = corpus.copy(tmp_path / "index")
    lecture = corpus.videos[LECTURE]
    with serving(index_dir, roots=[lecture.parent]) as (srv, _):
        videos = {v["name"]: v for v in _get(srv, "/api/videos").json()}
        assert set(videos) == set(corpus.videos)
        mine = videos[LECTURE]
        assert mine["duration"] == corpus.truth[LECTURE][-1]["end"] and mine["segments"] == len(
            corpus.truth[LECTURE]
        )
        assert {"video_id", "path", "duration", "segments", "media_url"} <= set(mine)

        _one_line_error(httpx.delete(f"{srv.url}/api/videos/0123abcd", timeout=30), 404)
        assert httpx.delete(f"{srv.url}/api/videos/{mine['video_id']}", timeout=30).json()["deleted"] == 1
        assert [v["name"] for v in _get(srv, "/api/videos").json()] == ["video_search.webm"]
        _one_line_error(_get(srv, urlsplit(mine["media_url"]).path), 404)

        job = httpx.post(f"{srv.url}/api/index", json={"paths": [str(lecture)]}, timeout=30)
        assert job.status_code == 202
        searched, failures, stop = [], [], threading.Event()

        def keep_searching() -> None:
            with httpx.Client(base_url=srv.url, timeout=60) as http:
                while not stop.is_set():
                    response = http.get("/api/search", params={"q": "shot detection", "k": 3})
                    (searched if response.status_code == 200 and response.json() else failures).append(
                        response
                    )

        searchers = [threading.Thread(target=keep_searching) for _ in range(4)]
        for t in searchers:
            t.start()
        events = _events(job.json()["events"])
        during = len(searched)
        stop.set()
        for t in searchers:
            t.join()

        kinds = [kind for kind, _ in events]
        assert kinds[0] == "queued" and kinds[-1] == "done" and "progress" in kinds
        progress = [data for kind, data in events if kind == "progress"]
        duration = corpus.truth[LECTURE][-1]["end"]
        assert progress[0]["videos"] == 1 and progress[0]["seconds"] == pytest.approx(duration, abs=0.2)
        done = [p["seconds_done"] for p in progress]
        assert (
            done == sorted(done) and progress[-1]["videos_done"] == 1 and done[-1] == progress[-1]["seconds"]
        )
        assert any(p["eta"] is not None for p in progress) and any(p["current"] == LECTURE for p in progress)
        assert events[-1][1]["indexed"] == [str(lecture)] and events[-1][1]["failed"] == []
        assert during > 0 and failures == []  # searches kept succeeding while the job ran
        top = _get(srv, "/api/search", params={"q": "gradient descent learning rate", "k": 1}).json()[0]
        assert Path(top["video"]).name == LECTURE
        assert _events(job.json()["events"])[-1][0] == "done"  # a late reader gets the whole log

        assert "no such file" in _one_line_error(
            httpx.post(
                f"{srv.url}/api/index", json={"paths": [str(lecture.parent / "nope.mp4")]}, timeout=30
            ),
            404,
        )


def _events(url: str) -> list[tuple[str, dict[str, Any]]]:
    """Read a server-sent event stream to its end."""
    out = []
    with httpx.stream("GET", url, timeout=120) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line[len("event: ") :]
            elif line.startswith("data: ") and kind:
                out.append((kind, json.loads(line[len("data: ") :])))
    return out


# ------------------------------------------------------------------------------------------- security, limits


def test_the_cli_loads_no_server_code_until_it_serves() -> None:
    import subprocess
    import sys

    code = (
        "import sys, vrag.cli; print(sorted({'fastapi', 'uvicorn', 'mcp', 'starlette'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_public_address_needs_an_api_key(capsys: pytest.CaptureFixture[str]) -> None:
    from vrag.cli import main
    from vrag.serve import ServeConfig

    with pytest.raises(ConfigError, match="without an API key"):
        ServeConfig(host="0.0.0.0")
    assert ServeConfig(host="0.0.0.0", api_key="k" * 24).api_key == "k" * 24
    assert ServeConfig(host="::1").host == "::1"
    assert main(["serve", "--host", "0.0.0.0", "--index", "/nonexistent"]) == 2
    assert "refusing to listen on 0.0.0.0 without an API key" in capsys.readouterr().err


def test_with_an_api_key_every_route_but_health_needs_it(server: Server) -> None:
    key = "s3cret-key-for-tests-0123456789"
    with serving(Path(server_index(server)), api_key=key, roots=_roots(server)) as (srv, _):
        assert _get(srv, "/api/health").json()["auth"] is True
        for path in ("/api/search?q=gradient", "/api/videos", "/api/jobs/x/events"):
            response = _get(srv, path)
            _one_line_error(response, 401, "Unauthorized")
            assert response.headers["www-authenticate"] == "Bearer"
        _one_line_error(_get(srv, "/api/videos", headers={"Authorization": "Bearer wrong"}), 401)
        _one_line_error(httpx.post(f"{srv.url}/api/ask", json={"question": "why?"}, timeout=30), 401)
        auth = {"Authorization": f"Bearer {key}"}
        hits = _get(srv, "/api/search", params={"q": "gradient descent"}, headers=auth).json()
        # media elements cannot send the header: the URLs handed out are signed for their own path only
        media, keyframe = hits[0]["url"].split("#")[0], hits[0]["keyframe_url"]
        assert (
            "sig=" in media
            and _get(srv, urlsplit(media).path + "?" + urlsplit(media).query).status_code == 200
        )
        assert httpx.get(keyframe, timeout=30).status_code == 200
        other = next(h for h in hits if h["video_id"] != hits[0]["video_id"])
        forged = f"{srv.url}/api/videos/{other['video_id']}/media?{urlsplit(media).query}"
        _one_line_error(httpx.get(forged, timeout=30), 401)
        _one_line_error(httpx.get(media.replace("sig=", "sig=0"), timeout=30), 401)
        assert _get(srv, "/").status_code == 200  # the page itself holds no data; it asks for the key


def _roots(server: Server) -> list[Path]:
    return list(server.server.config.app.state.service.roots.roots)


def test_bodies_uploads_and_time_are_limited_and_errors_are_one_line(
    server: Server, monkeypatch: Any
) -> None:
    big = {"question": "x" * 1_100_000}
    assert "larger than" in _one_line_error(httpx.post(f"{server.url}/api/ask", json=big, timeout=30), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
        yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n\r\n'
        for _ in range(300):
            yield b"0" * 1024
        yield b"\r\n--x--\r\n"

    files = {"file": ("big.png", b"\x89PNG" + b"0" * 300_000, "image/png")}
    _one_line_error(httpx.post(f"{server.url}/api/search", files=files, timeout=30), 413, "TooLarge")
    streamed = httpx.post(f"{server.url}/api/search", content=chunks(), timeout=30,
                          headers={"content-type": "multipart/form-data; boundary=x"})  # fmt: skip
    _one_line_error(streamed, 413, "TooLarge")

    service = server.server.config.app.state.service

    def broken() -> list[Any]:
        raise RuntimeError("secret detail at /private/path")

    monkeypatch.setattr(service.index, "videos", broken)
    failed = _get(server, "/api/videos")
    assert _one_line_error(failed, 500, "InternalError") == "the server failed; see its log"
    assert "secret" not in failed.text
    unknown = _get(server, "/api/search", params={"q": "gradient", "rerank": "sentense"})
    assert "Did you mean 'sentence'" in _one_line_error(unknown, 400, "UnknownNameError")


def test_searches_past_the_timeout_fail_with_504(server: Server) -> None:
    with serving(Path(server_index(server)), timeout=1e-4, roots=_roots(server)) as (srv, _):
        detail = _one_line_error(_get(srv, "/api/search", params={"q": "gradient"}), 504)
    assert "took longer than" in detail


def test_no_cross_origin_access_unless_configured(server: Server) -> None:
    origin = {"Origin": "https://elsewhere.example"}
    assert "access-control-allow-origin" not in _get(server, "/api/videos", headers=origin).headers
    with serving(Path(server_index(server)), cors_origins=["https://app.example"], roots=_roots(server)) as (
        srv,
        _,
    ):
        allowed = _get(srv, "/api/videos", headers={"Origin": "https://app.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert "access-control-allow-origin" not in _get(srv, "/api/videos", headers=origin).headers


def test_uploads_name_the_file_in_errors_and_refuse_other_types(server: Server) -> None:
    image = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (64, 36), "white").save(image, format="PNG")
    files = {"file": ("slide.png", image.getvalue(), "image/png")}
    detail = _one_line_error(
        httpx.post(f"{server.url}/api/search", files=files, timeout=30), 400, "ConfigError"
    )
    assert "needs a visual channel" in detail and "/tmp" not in detail
    text = {"file": ("notes.txt", b"hello", "text/plain")}
    _one_line_error(httpx.post(f"{server.url}/api/search", files=text, timeout=30), 415, "Unsupported")


def test_visual_search_by_an_uploaded_image_or_clip(corpus: Corpus, tmp_path: Path) -> None:
    """An index with a (tiny, random-weight) visual channel answers image and clip uploads."""
    from PIL import Image

    from vrag.config import IndexConfig
    from vrag.index import VideoIndex
    from vrag.media import open_video

    video = corpus.videos[LECTURE]
    config = IndexConfig(visual_encoders=("videomae-test",), allow_test_encoders=True, text_encoder=None,
                         workers=0, ocr="off")  # fmt: skip
    with VideoIndex.open(tmp_path / "visual", config) as index:
        assert index.add([video], progress=False).indexed
    with open_video(video) as source:
        picture = io.BytesIO()
        Image.fromarray(source.frames_at([18.0]).data[0]).save(picture, format="PNG")
    with serving(tmp_path / "visual", roots=[video.parent]) as (srv, _):
        by_image = httpx.post(
            f"{srv.url}/api/search", params={"k": 3}, timeout=60,
            files={"file": ("slide.png", picture.getvalue(), "image/png")},
        )  # fmt: skip
        assert by_image.status_code == 200, by_image.text
        hits = by_image.json()
        assert len(hits) == 3 and all(Path(h["video"]).name == LECTURE and "#t=" in h["url"] for h in hits)
        assert all(set(h["channel_scores"]) == {"videomae-test"} for h in hits)
        clip = {"file": ("talk.mp4", video.read_bytes(), "video/mp4")}
        span = {"clip_start": "12", "clip_end": "0:24"}
        by_clip = httpx.post(f"{srv.url}/api/search", files=clip, data=span, timeout=60)
        assert by_clip.status_code == 200 and len(by_clip.json()) == len(corpus.truth[LECTURE])  # k=10: all
        outside = httpx.post(f"{srv.url}/api/search", files=clip, data={"clip_start": "50"}, timeout=60)
        detail = _one_line_error(outside, 400, "ConfigError")
        assert "talk.mp4" in detail and "outside the video" in detail and "vrag-upload" not in detail


def test_openapi_docs_list_exactly_the_routes(server: Server) -> None:
    assert "swagger" in _get(server, "/docs").text.lower()
    assert set(_get(server, "/openapi.json").json()["paths"]) == ROUTES
    page = _get(server, "/")
    assert (
        page.headers["content-type"].startswith("text/html")
        and "default-src 'self'" in page.headers["content-security-policy"]
    )


def test_unknown_routes_and_methods_answer_in_the_error_shape(server: Server) -> None:
    _one_line_error(_get(server, "/api/nothing"), 404, "NotFound")
    _one_line_error(httpx.put(server.url + "/api/videos", timeout=30), 405, "MethodNotAllowed")
