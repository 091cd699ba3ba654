"""VideoReader: one Document per scene, exact times, the transcript as text, ids stable across runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core import SimpleDirectoryReader
from llama_index.core.schema import MetadataMode
from llama_index.readers.vrag import VideoReader
from llama_index.retrievers.vrag import VideoRetriever

from vrag import VideoIndex
from vrag.errors import ConfigError, MediaError

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm")


@pytest.fixture(scope="module")
def documents(corpus: Path, index: VideoIndex):
    reader = VideoReader(index=index)  # the index's cutting and fingerprint
    return SimpleDirectoryReader(
        str(corpus), file_extractor=dict.fromkeys(VIDEO_SUFFIXES, reader), required_exts=list(VIDEO_SUFFIXES)
    ).load_data()


def test_one_document_per_slide_with_exact_times_and_its_narration(documents, truth) -> None:
    got = {(Path(d.metadata["video"]).name, d.metadata["start"], d.metadata["end"]): d for d in documents}
    expected = {(name, s["start"], s["end"]): s for name, slides in truth.items() for s in slides}
    assert sorted(got) == sorted(expected)  # every slide and camera shot, nothing else, times exact
    for key, doc in got.items():
        assert all(sentence in doc.text for sentence in expected[key]["narration"])
        assert doc.metadata["start"] <= doc.metadata["keyframe"] < doc.metadata["end"]
        assert doc.metadata["file_name"] == key[0]  # SimpleDirectoryReader's file metadata is kept


def test_documents_show_llms_only_the_citation(documents) -> None:
    doc = next(
        d for d in documents if d.metadata["file_name"] == "intro_to_ml.mp4" and d.metadata["start"] == 12.0
    )
    assert doc.metadata["citation"] == "[intro_to_ml.mp4 00:12.0–00:24.0]"
    shown = doc.get_content(metadata_mode=MetadataMode.LLM)
    assert shown.startswith("citation: [intro_to_ml.mp4 00:12.0–00:24.0]") and "file_path" not in shown


def test_ids_are_stable_across_runs_and_match_the_retrievers(
    documents, corpus: Path, index: VideoIndex
) -> None:
    folder = index.info().location
    again = VideoReader(index=folder).load_data(corpus / "neural_networks.mkv")  # the index by its folder
    first = {d.id_: d.text for d in documents if d.metadata["file_name"] == "neural_networks.mkv"}
    assert {d.id_: d.text for d in again} == first and len(first) == 4
    assert len({d.id_ for d in documents}) == len(documents)
    nodes = VideoRetriever(index, similarity_top_k=20).retrieve(
        "how does backpropagation send the error backwards"
    )
    node = nodes[0].node
    assert node.node_id in first and first[node.node_id] == node.text  # same span, same id, same text
    stored = {n.node.node_id for n in nodes if n.node.metadata["video"].endswith("neural_networks.mkv")}
    assert stored == set(first)  # every document's id is the point id of that span in the index


def test_extra_info_and_several_files(corpus: Path) -> None:
    docs = VideoReader(chunker="fixed", chunk_options={"window": 20.0}, ocr="off").load_data(
        [corpus / "intro_to_ml.mp4", corpus / "video_search.webm"], extra_info={"course": "ml101"}
    )
    assert [(Path(d.metadata["video"]).name, d.metadata["start"]) for d in docs] == [
        ("intro_to_ml.mp4", 0.0), ("intro_to_ml.mp4", 20.0), ("intro_to_ml.mp4", 40.0),
        ("video_search.webm", 0.0), ("video_search.webm", 20.0),
    ]  # fmt: skip
    assert {d.metadata["course"] for d in docs} == {"ml101"}


def test_without_the_index_ids_are_stable_but_not_the_indexs(corpus: Path, documents) -> None:
    alone = VideoReader(ocr="off").load_data(corpus / "neural_networks.mkv")
    again = VideoReader(ocr="off").load_data(corpus / "neural_networks.mkv")
    assert [d.id_ for d in alone] == [d.id_ for d in again]
    assert not {d.id_ for d in alone} & {d.id_ for d in documents}


def test_a_chunker_unlike_the_indexs_is_refused(index: VideoIndex, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="leave chunker and chunk_options unset"):
        VideoReader(index=index, chunker="fixed")
    with pytest.raises(ConfigError, match="no vrag index at"):
        VideoReader(index=tmp_path / "nothing")


def test_bad_input_raises_typed_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    with pytest.raises(MediaError, match=r"broken\.mp4"):
        VideoReader(ocr="off").load_data(broken)
    with pytest.raises(ConfigError, match="window"):
        VideoReader(chunker="fixed", chunk_options={"windw": 2.0})
