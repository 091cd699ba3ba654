"""VideoRetriever: the right lecture moment for a question, with exact times, honouring k and filters."""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path

import numpy as np
import pytest
from llama_index.core.schema import ImageNode, MetadataMode, QueryBundle, TextNode
from llama_index.retrievers.vrag import VideoRetriever, node_to_hit
from PIL import Image

from vrag import VideoIndex, open_video
from vrag.errors import ConfigError

BACKPROP = "how does backpropagation send the error backwards"


def run(coro):
    """Run a coroutine on a private loop (``asyncio.run`` would unset the loop LlamaIndex's sync paths leave
    set, and its garbage collection then warns mid-session)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def test_question_finds_the_slide_that_answers_it(index: VideoIndex, slide_at) -> None:
    results = VideoRetriever(index, similarity_top_k=3).retrieve(BACKPROP)
    top = results[0]
    assert isinstance(top.node, TextNode) and not isinstance(top.node, ImageNode)
    meta = top.node.metadata
    slide = slide_at(meta["video"], meta["start"])
    assert Path(meta["video"]).name == "neural_networks.mkv" and slide["title"] == "Backpropagation"
    assert (meta["start"], meta["end"]) == (slide["start"], slide["end"]) == (12.0, 24.0)  # exact, from PTS
    assert meta["start"] <= meta["keyframe"] < meta["end"]
    assert meta["citation"] == "[neural_networks.mkv 00:12.0–00:24.0]"
    assert "error signal travels from the output back to the input" in top.node.text
    assert top.score == meta["score"] and [r.score for r in results] == sorted(
        (r.score for r in results), reverse=True
    )


def test_nodes_carry_exactly_what_the_index_returned(index: VideoIndex) -> None:
    hits = index.search(BACKPROP, k=4)
    nodes = VideoRetriever(index, similarity_top_k=4).retrieve(BACKPROP)
    assert [node_to_hit(n.node) for n in nodes] == hits  # video, id, start, end, score, text, keyframe
    assert [n.node.metadata["channel_scores"] for n in nodes] == [h.channel_scores for h in hits]
    assert len({n.node.node_id for n in nodes}) == 4


def test_llm_sees_the_citation_and_the_text_only(index: VideoIndex) -> None:
    node = VideoRetriever(index, similarity_top_k=1).retrieve(BACKPROP)[0].node
    shown = node.get_content(metadata_mode=MetadataMode.LLM)
    assert shown.startswith("citation: [neural_networks.mkv 00:12.0–00:24.0]") and node.text in shown
    assert "video_id" not in shown and "channel_scores" not in shown
    assert node.get_content(metadata_mode=MetadataMode.EMBED) == node.text


@pytest.mark.parametrize("k", [1, 4, 7])
def test_similarity_top_k_is_honoured(index: VideoIndex, k: int) -> None:
    retriever = VideoRetriever(index, similarity_top_k=k)
    assert retriever.similarity_top_k == k and len(retriever.retrieve("learning")) == k


def test_video_and_time_filters_are_honoured(index: VideoIndex, corpus: Path) -> None:
    intro = str(corpus / "intro_to_ml.mp4")
    only_intro = VideoRetriever(index, similarity_top_k=10, video=intro).retrieve(BACKPROP)
    assert len(only_intro) == 4 and {n.node.metadata["video"] for n in only_intro} == {intro}

    windowed = VideoRetriever(index, similarity_top_k=10, after=12.0, before=32.0).retrieve("gradient")
    assert windowed and all(
        n.node.metadata["start"] >= 12.0 and n.node.metadata["end"] <= 32.0 for n in windowed
    )
    assert {(n.node.metadata["start"], n.node.metadata["end"]) for n in windowed} == {
        (12.0, 24.0),
        (24.0, 32.0),
    }

    by_payload = VideoRetriever(index, similarity_top_k=10, where={"video": intro}).retrieve(BACKPROP)
    assert {n.node.metadata["video"] for n in by_payload} == {intro}


def test_search_options_pass_through_and_typos_are_refused(index: VideoIndex) -> None:
    capped = VideoRetriever(index, similarity_top_k=6, per_video=1).retrieve("learning")
    assert len({n.node.metadata["video"] for n in capped}) == len(capped) == 3
    with pytest.raises(ConfigError, match="per_vidoe"):
        VideoRetriever(index, per_vidoe=1)


def test_image_query_finds_the_moment_it_was_taken_from(
    index: VideoIndex, corpus: Path, tmp_path: Path
) -> None:
    # The visual channel has random test weights: this checks the plumbing (the image reaches the visual
    # channel), relying only on a static slide's clip and the same slide held still encoding alike.
    frame = open_video(corpus / "neural_networks.mkv").frames_at([18.0]).data[0]
    shot = tmp_path / "slide.png"
    Image.fromarray(frame).save(shot)
    results = VideoRetriever(index, similarity_top_k=3).retrieve(
        QueryBundle(query_str="", image_path=str(shot))
    )
    meta = results[0].node.metadata
    assert Path(meta["video"]).name == "neural_networks.mkv" and (meta["start"], meta["end"]) == (12.0, 24.0)


def test_keyframes_come_as_image_nodes_of_the_right_slide(index: VideoIndex, corpus: Path, truth) -> None:
    results = VideoRetriever(index, similarity_top_k=2, keyframes=True, image_format="png").retrieve(BACKPROP)
    texts, images = results[:2], results[2:]
    assert len(images) == 2 and all(isinstance(r.node, ImageNode) for r in images)
    assert not any(isinstance(r.node, ImageNode) for r in texts)
    for text, image in zip(texts, images, strict=True):
        assert image.score == text.score and image.node.image_mimetype == "image/png"
        meta = image.node.metadata
        assert (meta["video"], meta["start"], meta["end"]) == tuple(
            text.node.metadata[key] for key in ("video", "start", "end")
        )
        picture = np.asarray(Image.open(io.BytesIO(base64.b64decode(image.node.image))).convert("RGB"))
        video = open_video(meta["video"])
        assert picture.shape == (video.height, video.width, 3)
        # closest to the middle frame of the slide shown in this span, of all the video's slides
        slides = truth[Path(meta["video"]).name]
        middles = video.frames_at([(s["start"] + s["end"]) / 2 for s in slides]).data.astype(np.float32)
        nearest = int(np.argmin(np.abs(middles - picture.astype(np.float32)).mean(axis=(1, 2, 3))))
        assert (slides[nearest]["start"], slides[nearest]["end"]) == (meta["start"], meta["end"])


def test_jpeg_keyframes_by_default(index: VideoIndex) -> None:
    image = VideoRetriever(index, similarity_top_k=1, keyframes=True).retrieve(BACKPROP)[1].node
    assert image.image_mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(base64.b64decode(image.image))).format == "JPEG"


def test_async_retrieval_gives_the_same_nodes(index: VideoIndex) -> None:
    retriever = VideoRetriever(index, similarity_top_k=3)
    sync = retriever.retrieve(BACKPROP)
    together = run(retriever.aretrieve(BACKPROP))
    assert [(n.node.node_id, n.score) for n in together] == [(n.node.node_id, n.score) for n in sync]


def test_a_mistyped_index_path_is_an_error_not_a_new_empty_index(tmp_path: Path) -> None:
    from llama_index.tools.vrag import VideoToolSpec

    for make in (VideoRetriever, VideoToolSpec):
        with pytest.raises(ConfigError, match=r"no vrag index at .*nope: build one first"):
            make(str(tmp_path / "nope"))
    assert not (tmp_path / "nope").exists()
