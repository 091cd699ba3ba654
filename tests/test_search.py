"""VideoIndex.search beyond plain text: per-channel scores, filters, image and clip queries, rerankers, MMR,
per-video caps, context expansion; and the rerankers on their own."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from tests.test_index import _corpus
from vrag.config import IndexConfig
from vrag.encoders import create_encoder
from vrag.errors import ConfigError, WeightsUnavailableError
from vrag.index import VideoIndex
from vrag.media import open_video
from vrag.search import create_reranker
from vrag.search._rerank import NO_EVIDENCE
from vrag.types import Hit

pytestmark = pytest.mark.integration

CONFIG = {
    "visual_encoders": ("frames-test",),
    "allow_test_encoders": True,
    "workers": 0,
    "ocr": "off",
    "chunker": "fixed",
    "chunk_options": {"window": 2.0},
}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("search")
    videos = _corpus(root / "corpus")
    with VideoIndex.open(root / "idx", IndexConfig(**CONFIG)) as idx:
        report = idx.add(videos, progress=False)
        assert len(report.indexed) == 3
        yield idx


def _name(hit: Hit) -> str:
    return Path(hit.video).name


def test_each_hit_carries_the_score_of_every_channel_that_found_it(index: VideoIndex) -> None:
    hits = index.search("chopping onions", k=3)
    top = hits[0]
    assert _name(top) == "cooking.mp4" and "onions" in top.text
    assert set(top.channel_scores) == {"frames-test", "minilm", "bm25"}
    assert top.channel_scores["bm25"] > 0
    minilm = create_encoder("minilm")
    expected = float(minilm.encode_document([top.text])[0] @ minilm.encode_query(["chopping onions"])[0])
    assert top.channel_scores["minilm"] == pytest.approx(expected, abs=1e-4)
    # a segment without the word got no BM25 score: BM25 did not find it
    assert all("bm25" not in h.channel_scores for h in hits if "onion" not in h.text.lower())


def test_channels_and_where_restrict_the_search(index: VideoIndex) -> None:
    hits = index.search("rocket orbit", k=10, channels=["bm25"])
    assert hits and all(set(h.channel_scores) == {"bm25"} for h in hits)
    assert {_name(h) for h in hits} == {"space.mkv"}  # only BM25: no word, no hit
    space_id = hits[0].video_id
    assert {h.video_id for h in index.search("anything at all", k=10, where={"video_id": space_id})} == {
        space_id
    }
    assert {_name(h) for h in index.search("anything", k=10, video="space.mkv")} == {"space.mkv"}  # as cited
    with pytest.raises(ConfigError, match="not in this index"):
        index.search("x", video="nowhere.mkv")
    with pytest.raises(ConfigError, match="channels"):
        index.search("x", channels=["no-such-channel"])
    with pytest.raises(ConfigError, match="filter 'start'"):
        index.search("x", where={"start": 1.5})


def test_per_video_cap_and_mmr_spread_hits_over_videos(index: VideoIndex) -> None:
    plain = index.search("the", k=6)
    capped = index.search("the", k=6, per_video=1)
    assert len({h.video_id for h in capped}) == len(capped) == 3
    assert max(sum(h.video_id == v for h in plain) for v in {h.video_id for h in plain}) > 1
    same = index.search("the", k=6, mmr=0.0, candidates=6)
    assert [(h.video_id, h.start) for h in same] == [(h.video_id, h.start) for h in plain]
    spread = index.search("the", k=3, mmr=1.0)
    assert len({h.video_id for h in spread}) == 3  # the most mutually different picks come from 3 videos


def test_expand_adds_neighbour_segments_as_context(index: VideoIndex) -> None:
    hit = index.search("fry them in butter", k=1)[0]
    wide = index.search("fry them in butter", k=1, expand=1)[0]
    assert (wide.video_id, wide.score) == (hit.video_id, hit.score)
    assert wide.start == pytest.approx(hit.start - 2.0) and "onions" in wide.text and "butter" in wide.text


def test_clip_query_finds_the_segment_it_was_cut_from(index: VideoIndex, tmp_path: Path) -> None:
    target = index.search("It reaches orbit.", k=1)[0]
    hits = index.search(clip=(target.video, target.start, target.end), k=3)
    assert (hits[0].video_id, hits[0].start, hits[0].end) == (target.video_id, target.start, target.end)
    assert hits[0].channel_scores["frames-test"] == pytest.approx(1.0, abs=1e-4)  # the same frames


def test_image_query_finds_the_video_it_shows(index: VideoIndex, tmp_path: Path) -> None:
    import av

    garden = next(h.video for h in index.search("tomato plants", k=1))
    frame = open_video(garden).frames_at([1.0]).data[0]
    image = tmp_path / "still.png"
    with av.open(str(image), "w") as out:
        stream = out.add_stream("png")
        stream.width, stream.height, stream.pix_fmt = frame.shape[1], frame.shape[0], "rgb24"
        for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            out.mux(packet)
    hits = index.search(image=image, k=3)
    assert Path(hits[0].video) == Path(garden) and set(hits[0].channel_scores) == {"frames-test"}
    with pytest.raises(ConfigError, match="text queries"):
        index.search(image=image, rerank="sentence")
    with pytest.raises(ConfigError, match="exactly one"):
        index.search("words", image=image)


def test_sentence_reranker_finds_the_answering_sentence_in_a_long_passage() -> None:
    chatter = (
        "Welcome back to the channel. Remember to subscribe and like. Our sponsor today sells mattresses. "
        "The rocket lifts off at noon. Thanks for watching and see you next week."
    )
    about = "Rockets and space launches: a history of rocket missions."
    hits = [Hit("a.mp4", "a", 0.0, 9.0, 0.9, about), Hit("b.mp4", "b", 3.0, 20.0, 0.8, chatter)]
    query = "when does the rocket lift off"
    minilm = create_encoder("minilm")
    q = minilm.encode_query([query])[0]
    whole = minilm.encode_document([about, chatter]) @ q
    assert whole[0] > whole[1]  # as a whole, the answer is diluted by the chatter around it
    out = create_reranker("sentence", encoder=minilm, blend=0.0).rerank(query, hits)
    assert out[0].text == chatter
    sentence = float(minilm.encode_document(["The rocket lifts off at noon."])[0] @ q)
    assert out[0].channel_scores["rerank"] == pytest.approx(sentence, abs=1e-5)
    assert out[0].channel_scores["retrieval"] == 0.8 and out[0].score == 1.0  # the best, on a 0..1 scale


def test_rerank_through_the_index_keeps_scores_ordered(index: VideoIndex) -> None:
    hits = index.search("what do they fry the onions in", k=4, rerank="sentence")
    assert {"rerank", "retrieval"} <= set(hits[0].channel_scores)
    assert 0.0 <= hits[-1].score <= hits[0].score <= 1.0
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_llm_reranker_orders_by_the_models_ratings_and_tolerates_junk() -> None:
    hits = [Hit("a.mp4", "a", t, t + 1.0, 1.0 - t / 10, f"passage {t:g}") for t in range(4)]
    prompts: list[str] = []

    def llm(prompt: str) -> str:  # stands in for a real model
        prompts.append(prompt)
        return "Sure!\n3: 9\n1: 4\n2: 7.5"

    out = create_reranker("llm", llm=llm, blend=0.0).rerank("query", hits, k=3)
    assert [h.start for h in out] == [2.0, 1.0, 0.0]  # passage 4 unrated: last, cut by k
    assert "[a.mp4 00:02.0–00:03.0] passage 2" in prompts[0] and "Query: query" in prompts[0]
    unrated = create_reranker("llm", llm=lambda p: "I cannot help").rerank("q", hits)
    assert [h.start for h in unrated] == [0.0, 1.0, 2.0, 3.0]
    assert unrated[0].channel_scores["rerank"] == NO_EVIDENCE
    # blended (the default): normalised rating and retrieval score weigh equally
    blended = create_reranker("llm", llm=llm).rerank("query", hits)
    rating = np.array([4, 7.5, 9, NO_EVIDENCE])
    retrieval = np.array([h.score for h in hits])
    expected = 0.5 * (rating - rating.min()) / np.ptp(rating)
    expected += 0.5 * (retrieval - retrieval.min()) / np.ptp(retrieval)
    assert [h.start for h in blended] == [hits[i].start for i in np.argsort(-expected, kind="stable")]
    assert [h.score for h in blended] == pytest.approx(sorted(expected, reverse=True))
    with pytest.raises(ConfigError, match="blend"):
        create_reranker("llm", llm=llm, blend=2.0)


def test_cross_encoder_reranker_scores_pairs_with_the_model(tmp_path: Path) -> None:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from vrag.encoders._text import minilm_path

    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=37, num_labels=1,
    )  # fmt: skip
    torch.manual_seed(0)
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(tmp_path / "ce")
    tokenizer.save_pretrained(tmp_path / "ce")
    hits = [Hit("a.mp4", "a", 0.0, 1.0, 0.5, "red apples"), Hit("a.mp4", "a", 1.0, 2.0, 0.4, "blue sky")]
    hits.append(Hit("a.mp4", "a", 2.0, 3.0, 0.3, ""))
    out = create_reranker("cross-encoder", model=str(tmp_path / "ce")).rerank("fruit", hits)
    with torch.no_grad():
        batch = tokenizer(["fruit", "fruit"], ["red apples", "blue sky"], return_tensors="pt", padding=True)
        expected = torch.sigmoid(model(**batch).logits[:, 0]).tolist()
    got = {h.text: h.channel_scores["rerank"] for h in out}
    assert got["red apples"] == pytest.approx(expected[0], abs=1e-5)
    assert got["blue sky"] == pytest.approx(expected[1], abs=1e-5)
    assert out[-1].text == "" and out[-1].channel_scores["rerank"] == NO_EVIDENCE


def test_cross_encoder_hub_id_offline_fails_fast_with_the_fix() -> None:
    with pytest.raises(WeightsUnavailableError, match="someone/no-such-cross-encoder"):
        create_reranker("cross-encoder", model="someone/no-such-cross-encoder")


def test_cascade_reranker_rescores_spans_from_their_frames(index: VideoIndex) -> None:
    hits = index.search("onions", k=3)
    cascade = create_reranker("cascade", encoder="xclip-test", clips=2, allow_test_encoders=True)
    out = cascade.rerank("onions", hits)
    enc = cascade.encoder
    q = enc.encode_text(["onions"])[0]
    for hit in out:
        video = open_video(hit.video)
        halves = np.linspace(hit.start, hit.end, 3)
        size = enc.spec.decode_size(64, 48)
        clips = np.stack(
            [video.frames_at(enc.spec.clip_times(a, b), size=size).data for a, b in pairwise(halves)]
        )
        best = float((enc.encode_video(clips) @ q).max())
        assert hit.channel_scores["rerank"] == pytest.approx(best, abs=1e-5)
    with pytest.raises(ConfigError, match="random test weights"):
        create_reranker("cascade", encoder="xclip-test")
    with pytest.raises(ConfigError, match="no text tower"):
        create_reranker("cascade", encoder="videomae-test", allow_test_encoders=True)


class ScriptedLLM:
    """A stand-in for a real model, named on the command line as ``py:tests.test_search:ScriptedLLM``."""

    calls: ClassVar[list[str]] = []  # the prompts it was sent

    def __call__(self, prompt: str) -> str:
        ScriptedLLM.calls.append(prompt)
        if prompt.startswith("Rate how well"):  # as the LLM reranker: the butter passage is the answer
            lines = re.findall(r"^(\d+)\. (.*)$", prompt, re.M)
            return "\n".join(f"{n}: {10 if 'butter' in text else 0}" for n, text in lines)
        marker = next(line.split("] ")[0] + "]" for line in prompt.splitlines() if "butter" in line)
        return f"They fry them in butter {marker}, as shown at [nowhere.mp4 00:00.0–00:01.0]."


def test_cli_search_flags_and_ask_with_a_named_llm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from vrag.cli import main as cli

    videos = _corpus(tmp_path / "corpus")
    config = tmp_path / "vrag.toml"
    config.write_text('[index]\nvisual_encoders = []\nocr = "off"\nworkers = 0\nchunker = "fixed"\n')
    idx = ["--index", str(tmp_path / "idx")]
    assert cli(["index", *map(str, videos), *idx, "--config", str(config)]) == 0
    capsys.readouterr()
    assert (
        cli(["search", "rocket", *idx, "--json", "--channel", "bm25", "--where", f"video={videos[1]}"]) == 0
    )
    hits = json.loads(capsys.readouterr().out)
    assert (
        hits and {h["video"] for h in hits} == {str(videos[1])} and set(hits[0]["channel_scores"]) == {"bm25"}
    )
    assert hits[0]["citation"].startswith("[space.mkv 00:")
    assert cli(["search", "fry onions", *idx, "--json", "--rerank", "sentence", "-k", "2"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 2 and "rerank" in hits[0]["channel_scores"]
    assert (
        cli(
            [
                "ask",
                "what are the onions fried in",
                *idx,
                "--json",
                "--llm",
                "py:tests.test_search:ScriptedLLM",
            ]
        )
        == 0
    )
    answer = json.loads(capsys.readouterr().out)
    cited = answer["citations"][0]
    assert (
        cited["video"] == str(videos[0]) and cited["start"] <= 2.0 and cited["end"] >= 3.6
    )  # the butter cue
    assert answer["answer"].startswith("They fry them in butter [cooking.mp4 ")
    assert answer["dropped_citations"] == ["[nowhere.mp4 00:00.0–00:01.0]"]
    ScriptedLLM.calls.clear()
    llm = ["--llm", "py:tests.test_search:ScriptedLLM"]
    question = "what are the onions fried in"
    assert cli(["ask", question, *idx, "--json", "--rerank", "llm", *llm, "-k", "2"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert ScriptedLLM.calls[0].startswith("Rate how well")  # the answering model judged the evidence first
    assert len(ScriptedLLM.calls) == 2 and not ScriptedLLM.calls[1].startswith("Rate how well")
    assert answer["citations"][0]["video"] == str(videos[0])
    assert cli(["ask", "q", *idx, "--rerank", "llm"]) == 2
    assert "pass --llm too" in capsys.readouterr().err
    assert cli(["search", *idx, "--clip-start", "1"]) == 2
    assert cli(["ask", "q", *idx, "--llm", "nonsense"]) == 2
    assert "PROVIDER:MODEL" in capsys.readouterr().err


def test_an_encoder_with_k_vectors_per_clip_gets_a_maxsim_channel(tmp_path: Path) -> None:
    from vrag.pipeline import decode_clips

    videos = _corpus(tmp_path / "corpus")[:1]
    config = IndexConfig(**{**CONFIG, "visual_encoders": ("qformer-test",), "text_encoder": None})
    with VideoIndex.open(tmp_path / "idx", config) as idx:
        idx.add(videos, progress=False)
        assert set(idx.info().channels) == {"qformer-test", "qformer-test.multi", "bm25"}
        hits = idx.search("a red square", k=2, channels=["qformer-test.multi"])
        enc = idx._channels.visual["qformer-test"]
    q = enc.encode_text(["a red square"])[0]
    for hit in hits:
        (clip,) = decode_clips(hit.video, hit.video_id, [(hit.start, hit.end)], [enc.spec])
        multi = enc.encode_video_multi(clip)[0]
        assert multi.shape == (32, enc.spec.dim)
        assert hit.channel_scores["qformer-test.multi"] == pytest.approx(float((multi @ q).max()), abs=1e-4)


def test_videos_get_video_level_vectors_and_hierarchical_search_keeps_the_best_video(
    index: VideoIndex,
) -> None:
    store = index._store
    assert set(store.schema.video_channels) == {"frames-test", "minilm"}
    assert all(set(v.channels) == {"frames-test", "minilm"} for v in store.iter_videos())
    flat = index.search("the rocket reaches orbit", k=6, hierarchical=False)
    assert len({h.video_id for h in flat}) > 1
    top = index.search("the rocket reaches orbit", k=6, hierarchical=True, top_videos=1)
    nominated = {
        v.video_id
        for ch, q in index._channels.text_queries("the rocket reaches orbit").items()
        if ch in store.schema.video_channels
        for v in store.search_videos(ch, q, k=1)
    }
    assert 1 <= len(nominated) <= 2 and {h.video_id for h in top} <= nominated  # one video per channel
    best_by_text = store.search_videos("minilm", index._channels.text_queries("orbit")["minilm"], k=1)[0]
    assert Path(best_by_text.path).name == "space.mkv" and _name(top[0]) == "space.mkv"
    assert index.search("the rocket reaches orbit", k=6, top_videos=1) == top  # auto: more videos than 1
    assert index.build_video_vectors() == []  # nothing missing: nothing rebuilt


def test_cli_train_aggregator_saves_it_in_the_index_and_add_uses_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from vrag.cli import main as cli

    videos = _corpus(tmp_path / "corpus")
    config = tmp_path / "vrag.toml"
    config.write_text('[index]\nvisual_encoders = []\nocr = "off"\nworkers = 0\nchunker = "fixed"\n')
    idx = ["--index", str(tmp_path / "idx")]
    assert cli(["index", *map(str, videos[:2]), *idx, "--config", str(config)]) == 0
    capsys.readouterr()
    assert cli(["train", "aggregator", *idx, "--k", "2", "--steps", "3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["steps"] == 3 and report["videos"] == 2
    assert (tmp_path / "idx" / "aggregators" / "minilm" / "aggregator.json").is_file()
    assert cli(["index", str(videos[2]), *idx]) == 0  # the folder still opens; the new video is aggregated
    with VideoIndex.open(tmp_path / "idx") as again:
        assert type(again._video_vectors().aggregator("minilm")).__name__ == "LVMAEAggregator"
        assert all("minilm" in v.channels for v in again._store.iter_videos())


def test_filters_turn_the_automatic_video_stage_off(index: VideoIndex) -> None:
    cooking = next(h.video_id for h in index.search("onions", k=1))
    for flt in ({"where": {"video_id": cooking}}, {"after": 2.0}, {"before": 2.0}):
        auto = index.search("the rocket reaches orbit", k=3, top_videos=1, **flt)
        flat = index.search("the rocket reaches orbit", k=3, hierarchical=False, **flt)
        assert auto == flat and auto  # the video stage would have nominated space.mkv only


def test_llm_reranker_by_name_says_it_needs_a_model(index: VideoIndex) -> None:
    with pytest.raises(ConfigError, match="needs a model"):
        index.search("onions", rerank="llm")
    hits = [Hit("a.mp4", "a", t, t + 1.0, 1.0, f"p{t:g}") for t in range(3)]
    reply = "**1**: 2\n- Passage 2: 8\n3: 2019 was a good year"
    out = create_reranker("llm", llm=lambda p: reply).rerank("q", hits)
    assert [h.start for h in out] == [1.0, 0.0, 2.0] and out[-1].channel_scores["rerank"] == NO_EVIDENCE


def test_shared_handles_serialise_writes(tmp_path: Path) -> None:
    import threading

    videos = _corpus(tmp_path / "corpus")
    config = IndexConfig(**{**CONFIG, "visual_encoders": ()})
    first = VideoIndex.open(tmp_path / "idx", config)
    second = VideoIndex.open(tmp_path / "idx")
    reports: list = []
    threads = [
        threading.Thread(target=lambda i=i, h=h: reports.append(h.add(videos, progress=False)))
        for i, h in enumerate((first, second))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(r.indexed) for r in reports) == [0, 3]  # one indexed them, the other found them done
    assert first.info().videos == 3 and first.info().segments == second.info().segments
    first.close()
    second.close()


def test_an_aggregator_failure_is_a_note_and_the_segments_stay(tmp_path: Path) -> None:
    videos = _corpus(tmp_path / "corpus")[:1]
    config = IndexConfig(**{**CONFIG, "visual_encoders": (), "aggregator": "lvmae"})  # nothing trained yet
    with VideoIndex.open(tmp_path / "idx", config) as idx:
        report = idx.add(videos, progress=False)
        assert len(report.indexed) == 1 and any("vrag train aggregator" in n for n in report.notes)
        assert idx.search("onions", k=1)[0].video == str(videos[0])


def test_the_video_stage_waits_until_every_video_has_vectors(tmp_path: Path) -> None:
    from vrag.store._query import Filter, Match

    videos = _corpus(tmp_path / "corpus")
    config = IndexConfig(**{**CONFIG, "visual_encoders": ()})
    with VideoIndex.open(tmp_path / "idx", config) as idx:
        idx.add(videos, progress=False)
        space = next(h for h in idx.search("rocket", k=1))
        # a video committed but not yet aggregated (the state a crash before build_video_vectors leaves)
        idx._store._b.set_payload(
            "videos", {"channels": []}, Filter(must=(Match("video_id", space.video_id),))
        )
        assert "minilm" not in idx._store.get_video(space.video_id).channels
        assert _name(idx.search("the rocket reaches orbit", k=1, top_videos=1)[0]) == "space.mkv"  # flat
        with pytest.raises(ConfigError, match="for every video"):
            idx.search("the rocket reaches orbit", hierarchical=True, top_videos=1)
        idx.build_video_vectors()
        assert idx._store.count_videos("minilm") == 3


def test_a_missing_or_unreadable_image_is_a_typed_error_naming_the_file(
    index: VideoIndex, tmp_path: Path
) -> None:
    from vrag.errors import MediaError, VideoNotFoundError

    with pytest.raises(VideoNotFoundError, match="no such image file"):
        index.search(image=tmp_path / "nothere.png")
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture")
    with pytest.raises(MediaError, match=r"notes\.png"):
        index.search(image=notes)
