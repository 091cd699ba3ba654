"""Options are checked before anything is searched, and a missing index says how to build one."""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_vrag import VideoReranker, VideoRetriever, VideoSearchTool
from vrag.errors import ConfigError, UnknownNameError


def test_constructing_opens_and_creates_nothing(tmp_path: Path) -> None:
    VideoRetriever(index=tmp_path / "idx", k=2)
    VideoSearchTool(index=str(tmp_path / "idx"))
    VideoReranker(reranker="sentence")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_index_says_how_to_build_one_and_is_not_created(tmp_path: Path) -> None:
    retriever = VideoRetriever(index=tmp_path / "idx")
    with pytest.raises(ConfigError, match=r"no vrag index at .*idx: build one first \(`vrag index"):
        retriever.invoke("gradient descent")
    assert not (tmp_path / "idx").exists()


def test_a_misspelt_invoke_option_is_refused_with_the_right_name(tmp_path: Path) -> None:
    retriever = VideoRetriever(index=tmp_path / "idx")
    with pytest.raises(
        ConfigError, match=r"unknown VideoRetriever.invoke option 'vidoe' \(did you mean 'video'\?\)"
    ):
        retriever.invoke("gradient descent", vidoe="talk.mp4")


def test_search_kwargs_are_checked_when_constructed() -> None:
    with pytest.raises(ConfigError, match="did you mean 'per_video'"):
        VideoRetriever(index="idx", search_kwargs={"per_vid": 1})
    with pytest.raises(ConfigError, match="k=2 and search_kwargs k=3 disagree"):
        VideoSearchTool(index="idx", k=2, search_kwargs={"k": 3})
    with pytest.raises(ConfigError, match="filter is a mapping of payload field"):
        VideoRetriever(index="idx", search_kwargs={"filter": "video == 'a.mp4'"})
    with pytest.raises(ConfigError, match="score_threshold is a relevance within"):
        VideoRetriever(index="idx", search_kwargs={"score_threshold": 3})
    with pytest.raises(ConfigError, match="needs a score_threshold"):
        VideoRetriever(index="idx", search_type="similarity_score_threshold")


def test_vector_store_words_become_vrag_options() -> None:
    retriever = VideoRetriever(
        index="idx", search_type="mmr", search_kwargs={"k": 3, "fetch_k": 12, "filter": {"video": "a.mp4"}}
    )
    assert retriever.k == 3
    assert VideoSearchTool(index="idx", search_kwargs={"k": 6}).k == 6


def test_reranker_settings_are_checked_when_constructed() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'sentence'"):
        VideoReranker(reranker="sentense")
    with pytest.raises(ConfigError, match="needs llm="):
        VideoReranker(reranker="llm")
    with pytest.raises(ConfigError, match="top_n must be at least 1"):
        VideoReranker(top_n=0)
