"""The routes: search (words or an uploaded image / clip), answers, videos and their media, keyframes, index
jobs with server-sent progress, and the page."""

from __future__ import annotations

import json
import mimetypes
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from vrag import __version__
from vrag._format import parse_time
from vrag.errors import ConfigError, VragError
from vrag.search import Answer, SearchOptions, parse_where
from vrag.serve._app import Service, authorised, service, status_of
from vrag.serve._config import MAX_K
from vrag.types import Hit

if TYPE_CHECKING:
    from vrag.store import StoredVideo

__all__ = ["AskRequest", "IndexRequest", "SearchParams", "api", "page"]

api = APIRouter(prefix="/api", dependencies=[Depends(authorised)])
page = APIRouter()

_VIDEO_ID = re.compile(r"[0-9A-Za-z_-]{1,128}")
_IMAGES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"}
_CLIPS = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts"}
_TYPES = {".mkv": "video/x-matroska", ".webm": "video/webm", ".mp4": "video/mp4", ".m4v": "video/mp4",
          ".mov": "video/quicktime"}  # fmt: skip
_STATIC = files("vrag.serve") / "static"
_PAGE_FILES = {"app.js": "text/javascript", "app.css": "text/css"}


class ApiError(HTTPException):
    """An HTTP error with the error type the JSON body names."""

    def __init__(self, status: int, detail: str, kind: str | None = None) -> None:
        super().__init__(status, detail)
        self.kind = kind


# ------------------------------------------------------------------------------------------- requests


class SearchParams(BaseModel):
    """Query parameters of ``/api/search``: the words and every search option (``SearchOptions`` judges
    them; unknown names are refused with a close name suggested)."""

    model_config = ConfigDict(extra="forbid")

    q: str | None = Field(None, description="what to look for, in words (GET)")
    k: int | None = Field(None, description=f"number of hits (at most {MAX_K})")
    video: list[str] | None = Field(None, description="only these videos (path, file name or id; repeat)")
    after: str | None = Field(None, description="only moments starting at or after this time (90 or 1:30)")
    before: str | None = Field(None, description="only moments ending at or before this time")
    where: list[str] | None = Field(None, description="payload filter KEY=VALUE (repeat)")
    channel: list[str] | None = Field(None, description="search only this channel (repeat)")
    weight: list[str] | None = Field(None, description="CHANNEL:WEIGHT for RRF fusion (repeat)")
    fusion: str | None = Field(None, description="dbsf (default) or rrf")
    rerank: str | None = Field(None, description="sentence, cross-encoder, cascade")
    mmr: float | None = Field(None, description="diversity 0..1")
    per_video: int | None = Field(None, description="at most N hits per video")
    candidates: int | None = Field(None, description="hits fetched before rerank / MMR")
    expand: int | None = Field(None, description="add N neighbour segments each side (at most 10)")
    merge: bool | None = Field(None, description="join touching hits of one video")
    hierarchical: bool | None = Field(None, description="pick videos by video-level vectors first")
    top_videos: int | None = Field(None, description="videos nominated by the hierarchical stage")

    def options(self, base: SearchOptions) -> SearchOptions:
        """``base`` (the server's defaults) with these parameters applied, within the server's caps.

        Raises:
            ConfigError: an invalid value (SearchOptions says which) or one past a cap.
        """
        opts = base.replace(
            k=self.k, video=self.video, after=self.after, before=self.before,
            where=parse_where(self.where, what="where"), channels=self.channel, weights=_weights(self.weight),
            fusion=self.fusion, rerank=self.rerank, mmr=self.mmr, per_video=self.per_video,
            candidates=self.candidates, expand=self.expand, merge=self.merge, hierarchical=self.hierarchical,
            top_videos=self.top_videos,
        )  # fmt: skip
        for name, cap in (
            ("k", MAX_K),
            ("candidates", 10 * MAX_K),
            ("expand", 10),
            ("top_videos", 10 * MAX_K),
        ):
            if (getattr(opts, name) or 0) > cap:
                raise ConfigError(f"{name} is at most {cap} on this server, got {getattr(opts, name)}")
        return opts


def _weights(items: list[str] | None) -> dict[str, float] | None:
    if not items:
        return None
    out = {}
    for item in items:
        channel, _, value = item.rpartition(":")
        try:
            out[channel] = float(value)
        except ValueError as err:
            raise ConfigError(f"weight {item!r}: write CHANNEL:WEIGHT, e.g. bm25:2") from err
    return out


class AskRequest(BaseModel):
    """``POST /api/ask``: a question and how much evidence to use. The model is the server's."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000)
    k: int = Field(5, ge=1, le=MAX_K, description="evidence segments the answer may use")
    video: list[str] | None = Field(None, description="only these videos (path, file name or id)")
    after: str | float | None = None
    before: str | float | None = None
    rerank: str | None = None


class IndexRequest(BaseModel):
    """``POST /api/index``: files or folders under the server's roots."""

    model_config = ConfigDict(extra="forbid")

    paths: list[str] = Field(min_length=1, max_length=1000)


# ------------------------------------------------------------------------------------------- search, ask


@page.get("/api/health", tags=["service"])
async def health(request: Request) -> dict[str, Any]:
    """Whether the service is up (needs no key), its version and whether the API needs a key."""
    return {"status": "ok", "version": __version__, "auth": service(request).config.api_key is not None}


@api.get("/search", tags=["search"])
async def search(request: Request, params: Annotated[SearchParams, Query()]) -> list[dict[str, Any]]:
    """The best moments for words, as hits with a keyframe URL and a media URL (``#t=start,end``)."""
    svc = service(request)
    if params.q is None or not params.q.strip():
        raise ApiError(400, "q: give the words to search for (or POST an image or a clip)")
    hits = await svc.run(svc.index.search, params.q, options=params.options(svc.options))
    return [_hit(request, svc, h) for h in hits]


@api.post("/search", tags=["search"])
async def search_by_upload(
    request: Request,
    params: Annotated[SearchParams, Query()],
    file: Annotated[UploadFile, File(description="an image (png, jpg, webp) or a video clip")],
    clip_start: Annotated[str | None, Form(description="the clip starts here (90 or 1:30)")] = None,
    clip_end: Annotated[str | None, Form(description="the clip ends here")] = None,
) -> list[dict[str, Any]]:
    """The best moments for an uploaded image or clip (visual channels; size-limited)."""
    svc = service(request)
    suffix = Path(file.filename or "").suffix.lower()
    is_image = suffix in _IMAGES or (file.content_type or "").startswith("image/")
    if not is_image and suffix not in _CLIPS and not (file.content_type or "").startswith("video/"):
        raise ApiError(415, "send an image (png, jpg, webp) or a video clip (mp4, webm, mkv)", "Unsupported")
    if params.q is not None:
        raise ApiError(400, "q: an upload is the query; search words with GET /api/search")
    opts = params.options(svc.options)
    with tempfile.TemporaryDirectory(prefix="vrag-upload-") as folder:
        path = Path(folder) / ("upload" + (suffix if suffix in _IMAGES | _CLIPS else ".bin"))
        with path.open("wb") as out:
            await anyio.to_thread.run_sync(shutil.copyfileobj, file.file, out)
        try:
            if is_image:
                hits = await svc.run(svc.index.search, image=path, options=opts)
            else:
                start = 0.0 if clip_start is None else parse_time(clip_start, what="clip_start")
                end = float("inf") if clip_end is None else parse_time(clip_end, what="clip_end")
                hits = await svc.run(svc.index.search, clip=(path, start, end), options=opts)
        except VragError as err:  # name the upload, not the temporary file
            message = str(err).replace(str(path), file.filename or "the upload")
            raise ApiError(status_of(err), message, type(err).__name__) from err
    return [_hit(request, svc, h) for h in hits]


@api.post("/ask", tags=["search"])
async def ask(request: Request, body: AskRequest) -> dict[str, Any]:
    """An answer from the best ``k`` moments, with checked citations (each with a media URL to seek to) and
    the evidence. The answering model is the server's ``[llm]`` (extractive without one)."""
    svc = service(request)
    options = svc.options.replace(after=body.after, before=body.before)
    extra = svc.config.llm.timeout if svc.llm is not None else 0.0
    answer = await svc.run(
        svc.index.ask, body.question, k=body.k, llm=svc.llm, video=body.video, rerank=body.rerank,
        options=options, timeout=svc.config.timeout + extra,
    )  # fmt: skip
    return _answer(request, svc, answer)


# ------------------------------------------------------------------------------------------- videos, media


@api.get("/videos", tags=["videos"])
async def videos(request: Request) -> list[dict[str, Any]]:
    """Every indexed video: ``video_id``, ``path``, ``name``, ``duration``, ``segments``, ``media_url``."""
    svc = service(request)
    found = await svc.run(svc.index.videos)
    return [
        {
            **v.to_dict(),
            "name": Path(v.path).name,
            "media_url": _url(request, svc, "media", video_id=v.video_id),
        }
        for v in found
    ]


@api.delete("/videos/{video_id}", tags=["videos"])
async def delete_video(request: Request, video_id: str) -> dict[str, Any]:
    """Remove a video and its segments from the index (the file itself stays)."""
    svc = service(request)
    if await _video(svc, video_id) is None:
        raise ApiError(404, f"no video {video_id!r} in this index")
    if svc.jobs.busy:
        raise ApiError(409, "an index job is running; delete when it has finished", "Busy")
    deleted = await svc.run(svc.index.delete, [video_id])
    return {"deleted": deleted, "video_id": video_id}


@api.get(
    "/videos/{video_id}/media", name="media", tags=["videos"], response_class=FileResponse,
    responses={206: {"description": "the byte range asked for"}, 416: {"description": "bad range"}},
)  # fmt: skip
async def media(request: Request, video_id: str) -> FileResponse:
    """The indexed video file (HTTP Range supported, so players can seek)."""
    svc = service(request)
    video = await _video(svc, video_id)
    file = svc.roots.file(video.path) if video is not None else None
    if file is None:
        raise ApiError(
            404, f"no video {video_id!r} to serve (not indexed, missing, or outside the served folders)"
        )
    kind = _TYPES.get(file.suffix.lower()) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    return FileResponse(file, media_type=kind, content_disposition_type="inline")


@api.get("/segments/{segment_id}/keyframe.jpg", name="keyframe", tags=["videos"], response_class=Response)
async def keyframe(request: Request, segment_id: str) -> Response:
    """A small JPEG of the segment's keyframe (cached)."""
    svc = service(request)
    segment = await svc.run(svc.index.segment, segment_id)
    file = svc.roots.file(segment.video) if segment is not None else None
    if segment is None or file is None:
        raise ApiError(404, f"no keyframe for segment {segment_id!r}")
    data = await svc.run(svc.keyframes.jpeg, segment, file)
    cache = "private" if svc.config.api_key else "public"
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": f"{cache}, max-age=86400"})


# ------------------------------------------------------------------------------------------- index jobs


@api.post("/index", status_code=202, tags=["index"])
async def index_videos(request: Request, body: IndexRequest) -> dict[str, str]:
    """Start indexing files or folders (under the server's roots); follow ``events`` for progress."""
    svc = service(request)
    paths = []
    for item in body.paths:
        if not svc.roots.inside(item):
            raise ApiError(
                403, f"{item}: outside the folders this server may read (start it with --root)", "Forbidden"
            )
        path = Path(item).expanduser().resolve()
        if not path.exists():
            raise ApiError(404, f"{item}: no such file or folder")
        if path.is_dir():  # a link inside a root may point out of it
            from vrag.media import video_files

            out = next((p for p in video_files(path) if not svc.roots.inside(p)), None)
            if out is not None:
                raise ApiError(
                    403, f"{out}: a link to a file outside the folders this server may read", "Forbidden"
                )
        paths.append(str(path))
    job = svc.jobs.submit(paths)
    return {"job": job.id, "events": _url(request, svc, "job_events", job_id=job.id)}


@api.get("/jobs/{job_id}/events", name="job_events", tags=["index"], response_class=StreamingResponse)
async def job_events(request: Request, job_id: str) -> StreamingResponse:
    """Server-sent events: ``queued``, then ``progress`` (videos and seconds done, ETA), then ``done`` with
    the report (or ``error``). Replays from the start for a late reader."""
    job = service(request).jobs.get(job_id)
    if job is None:
        raise ApiError(404, f"no job {job_id!r} (finished jobs are kept for a while)")

    async def stream() -> AsyncIterator[str]:
        cursor, quiet = 0, 0.0
        while True:
            events, finished = job.since(cursor)
            for event in events:
                cursor += 1
                yield f"id: {cursor}\nevent: {event.kind}\ndata: {json.dumps(event.data)}\n\n"
            if finished and not events:
                return
            quiet = 0.0 if events else quiet + 0.2
            if quiet >= 15:
                quiet = 0.0
                yield ": still working\n\n"
            await anyio.sleep(0.2)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


# ------------------------------------------------------------------------------------------- page


@page.get("/", include_in_schema=False)
async def index_page() -> Response:
    return Response((_STATIC / "index.html").read_bytes(), media_type="text/html; charset=utf-8")


@page.get("/static/{name}", include_in_schema=False)
async def static(name: str) -> Response:
    if name not in _PAGE_FILES:
        raise ApiError(404, f"no such file {name!r}")
    return Response((_STATIC / name).read_bytes(), media_type=_PAGE_FILES[name])


# ------------------------------------------------------------------------------------------- helpers


async def _video(svc: Service, video_id: str) -> StoredVideo | None:
    return await svc.run(svc.index.video, video_id) if _VIDEO_ID.fullmatch(video_id) else None


def _url(request: Request, svc: Service, name: str, **params: str) -> str:
    """The absolute URL of a route (signed when the server has an API key)."""
    path = request.app.url_path_for(name, **params)
    return f"{str(request.base_url).rstrip('/')}{path}{svc.links.query(path)}"


def _hit(request: Request, svc: Service, hit: Hit) -> dict[str, Any]:
    row = hit.to_dict(media_base=_url(request, svc, "media", video_id=hit.video_id))
    row["keyframe_url"] = _url(request, svc, "keyframe", segment_id=hit.id) if hit.id else None
    return row


def _answer(request: Request, svc: Service, answer: Answer) -> dict[str, Any]:
    """``Answer.to_dict()`` with each citation's video id, marker and seekable media URL, and the evidence as
    full hits (keyframe and media URLs)."""
    citations = []
    for c in answer.citations:  # a citation is an evidence span or a moment inside one
        hit = next(h for h in answer.evidence if h.video == c.video and h.start - 0.051 <= c.start <= h.end)
        media = _url(request, svc, "media", video_id=hit.video_id)
        citations.append({
            "video": c.video, "video_id": hit.video_id, "start": c.start, "end": c.end, "marker": c.marker,
            "url": c.media_url(media),
        })  # fmt: skip
    evidence = [_hit(request, svc, h) for h in answer.evidence]
    return {**answer.to_dict(), "citations": citations, "evidence": evidence}
