"""Speech channel: SRT/WebVTT parsing, sidecar files, embedded subtitle streams, ASR fallback."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from tests.synth import write_video
from vrag.errors import ConfigError, MediaError, ModelUnavailableError, VideoNotFoundError
from vrag.media import _asr
from vrag.media._subtitles import (
    SubtitleError,
    Transcript,
    find_sidecar_subtitles,
    load_transcript,
    parse_subtitles,
    read_subtitle_file,
    sentence_boundaries,
)
from vrag.types import Cue

SUBS = [(0.5, 1.25, "Hello <i>world</i> &amp; friends."), (1.5, 2.0, "Line one\nline two")]
EXPECTED = [
    Cue(0.5, 1.25, "Hello world & friends.", "subtitle"),
    Cue(1.5, 2.0, "Line one\nline two", "subtitle"),
]
NO_ASR_NOTE = "no subtitles found and faster-whisper is not installed: pip install 'vrag-video[asr]'"


def _cues(cues: list[Cue] | tuple[Cue, ...]) -> list[tuple[float, float, str, str]]:
    """Cues with times rounded to the millisecond, for exact comparison."""
    return [(round(c.start, 3), round(c.end, 3), c.text, c.source) for c in cues]


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def no_faster_whisper(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make ``import faster_whisper`` fail as it does where the package is not installed."""
    monkeypatch.setitem(sys.modules, "faster_whisper", None)
    _asr._load_whisper.cache_clear()
    yield
    _asr._load_whisper.cache_clear()


# ------------------------------------------------------------------------------------------ SRT / WebVTT


def test_srt_with_bom_crlf_markup_and_disorder(tmp_path: Path) -> None:
    srt = (
        "\ufeff2\r\n00:00:03.250 --> 00:00:04,000 X1:10 X2:20\r\n"
        '{\\an8}<b>Second</b> &amp; <font color="red">last</font>\r\n'
        "\r\n1\r\n00:00:01,000 --> 00:00:02,500\r\n<i>First line</i>\r\n  second   line  \r\n\r\n"
        "3\r\n01:00:05,000 --> 01:00:06,000\r\n<i> </i>\r\n\r\n"
        "4\r\n00:00:01,500 --> 00:00:01,750\r\nOverlap: a < b and c > d\r\n"
    )
    cues = read_subtitle_file(_write(tmp_path / "a.srt", srt))
    assert _cues(cues) == [
        (1.0, 2.5, "First line\nsecond line", "subtitle"),
        (1.5, 1.75, "Overlap: a < b and c > d", "subtitle"),
        (3.25, 4.0, "Second & last", "subtitle"),
    ]


def test_vtt_header_blocks_settings_and_optional_hours(tmp_path: Path) -> None:
    vtt = (
        "WEBVTT - lecture\nKind: captions\nLanguage: en\n\n"
        "NOTE written by hand\nspans two lines\n\n"
        "STYLE\n::cue { color: yellow }\n\n"
        "intro\n00:01.500 --> 00:02.000 align:start position:10%\n<v Ann>Hi</v> <c.loud>there</c>\n\n"
        "00:00:00.000 --> 00:00:01.000\nfirst <00:00:00.500>karaoke\n\n"
        "1:02:03.004 --> 1:02:04.5\n&lt;not a tag&gt; &#233;\n"
    )
    cues = read_subtitle_file(_write(tmp_path / "a.vtt", vtt))
    assert _cues(cues) == [
        (0.0, 1.0, "first karaoke", "subtitle"),
        (1.5, 2.0, "Hi there", "subtitle"),
        (3723.004, 3724.5, "<not a tag> é", "subtitle"),
    ]


def test_text_split_by_a_stray_blank_line_stays_with_its_cue() -> None:
    cues = parse_subtitles(
        "1\n00:00:01,000 --> 00:00:02,000\nfirst half\n\nsecond half\n\n"
        "2\n00:00:03,000 --> 00:00:04,000\nnext\n"
    )
    assert _cues(cues) == [(1.0, 2.0, "first half\nsecond half", "subtitle"), (3.0, 4.0, "next", "subtitle")]


def test_srt_without_blank_lines_between_cues() -> None:
    cues = parse_subtitles(
        "1\n00:00:01,000 --> 00:00:02,000\nfirst\n2\n00:00:03,000 --> 00:00:04,000\nsecond\n"
    )
    assert _cues(cues) == [(1.0, 2.0, "first", "subtitle"), (3.0, 4.0, "second", "subtitle")]


def test_windows_1252_file_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.srt", "1\n00:00:00,000 --> 00:00:01,000\ncafé\n", encoding="cp1252")
    assert [c.text for c in read_subtitle_file(path)] == ["café"]


def test_empty_file_has_no_cues(tmp_path: Path) -> None:
    assert read_subtitle_file(_write(tmp_path / "a.srt", "\ufeff\r\n\r\n")) == []


def test_bad_cues_are_skipped_and_the_good_ones_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = (
        "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:xx,000 --> 00:00:03,000\nbad\nlines\n\n"
        "3\n00:00:09,000 --> 00:00:08,000\nbackwards\n4\n00:00:04,000 --> 00:00:05,000\nalso ok\n"
    )
    path = _write(tmp_path / "mixed.srt", text)
    with caplog.at_level(logging.WARNING, logger="vrag.media._subtitles"):
        cues = read_subtitle_file(path)
    assert _cues(cues) == [(1.0, 2.0, "ok", "subtitle"), (4.0, 5.0, "also ok", "subtitle")]
    (warned,) = [r.getMessage() for r in caplog.records]
    assert "mixed.srt: line 6: bad timing line" in warned and "(and 1 more bad cues)" in warned


def test_control_characters_never_reach_the_text() -> None:
    cues = parse_subtitles("1\n00:00:01,000 --> 00:00:02,000\nred \x1b[31malert\x00 \x07now\x9b\n")
    assert cues[0].text == "red [31malert now"


def test_ass_sidecar_read_with_pysubs2(tmp_path: Path) -> None:
    ass = (
        "[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\nFormat: Name, Fontname, Fontsize\n"
        "Style: Default,Arial,20\n\n[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        "Dialogue: 0,0:00:03.50,0:00:05.00,Default,,0,0,0,,{\\i1}Second{\\i0} line\\Nwrapped\n"
        "Comment: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,a comment, not speech\n"
        "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,First line\n"
    )
    cues = read_subtitle_file(_write(tmp_path / "v.ass", ass))
    assert _cues(cues) == [
        (1.0, 2.0, "First line", "subtitle"),
        (3.5, 5.0, "Second line\nwrapped", "subtitle"),
    ]


def test_legacy_8_bit_encodings_are_detected(tmp_path: Path) -> None:
    text = "Сегодня мы поговорим о градиентном спуске и о том, как выбрать шаг обучения."
    path = _write(tmp_path / "ru.srt", f"1\n00:00:01,000 --> 00:00:04,000\n{text}\n", encoding="cp1251")
    assert [c.text for c in read_subtitle_file(path)] == [text]


def test_a_linked_video_finds_the_subtitles_beside_its_target(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "links").mkdir()
    video = write_video(tmp_path / "real" / "talk.mp4", 25)
    _write(tmp_path / "real" / "talk.srt", "1\n00:00:00,100 --> 00:00:00,900\nspoken words\n")
    link = tmp_path / "links" / "lecture.mp4"
    link.symlink_to(video)
    assert find_sidecar_subtitles(link) == [tmp_path / "real" / "talk.srt"]
    assert [c.text for c in load_transcript(link, asr="off").cues] == ["spoken words"]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            "1\n00:00:01,000 --> 00:00:02,000\n\n2\n00:00:xx,000 --> 00:00:03,000\nbad\n",
            5,
            "bad timing line",
        ),
        ("WEBVTT\n\n00:00:05.000 --> 00:00:04.000\nbackwards\n", 3, "cue ends before it starts"),
        ("just some notes\nnot subtitles at all\n", 1, "text before the first timing line"),
        ("WEBVTT\n\n00:01.000 -> 00:02.000\nhalf an arrow\n", 3, "text before the first timing line"),
    ],
)
def test_a_file_without_one_good_cue_raises_with_file_and_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = _write(tmp_path / "broken.srt", text)
    with pytest.raises(SubtitleError) as info:
        read_subtitle_file(path)
    assert isinstance(info.value, MediaError)
    assert info.value.path == path and info.value.line == line
    assert f"broken.srt: line {line}: {words}" in str(info.value)


def test_missing_subtitle_file_raises(tmp_path: Path) -> None:
    with pytest.raises(SubtitleError, match=r"nope\.srt"):
        read_subtitle_file(tmp_path / "nope.srt")


# ------------------------------------------------------------------------------------------ sentences


def test_sentence_boundaries_at_punctuation_pauses_and_the_end() -> None:
    cues = [
        Cue(0.0, 1.0, "We start here."),
        Cue(1.0, 2.0, "and this goes"),
        Cue(2.1, 3.0, 'on until "now!"'),
        Cue(3.0, 4.0, "a pause follows"),
        Cue(4.6, 5.0, "no pause, 0.59 s"),
        Cue(5.59, 6.0, "Wait…"),
        Cue(6.0, 7.0, "the end"),
    ]
    assert sentence_boundaries(cues) == [1.0, 3.0, 4.0, 6.0, 7.0]


def test_sentence_boundaries_use_the_latest_end_of_overlapping_cues() -> None:
    cues = [Cue(0.0, 3.0, "long cue spanning"), Cue(1.0, 2.0, "short one"), Cue(3.2, 4.0, "Next.")]
    assert sentence_boundaries(cues) == [4.0]
    assert sentence_boundaries([]) == []


# ------------------------------------------------------------------------------------------ sidecars


def test_sidecars_found_by_stem_and_language_suffix(tmp_path: Path) -> None:
    video = tmp_path / "talk.mp4"
    video.write_bytes(b"")
    for name in (
        "talk.en.srt",
        "talk.srt",
        "talk.pt-BR.VTT",
        "talk.part2.srt",
        "talks.srt",
        "talk.txt",
        "talk.de.srt",
    ):
        (tmp_path / name).write_text("")
    (tmp_path / "talk.fr.srt").mkdir()
    names = [p.name for p in find_sidecar_subtitles(video)]
    assert names == ["talk.srt", "talk.de.srt", "talk.en.srt", "talk.pt-BR.VTT"]


def _cue_file(path: Path, text: str) -> Path:
    return _write(path, f"1\n00:00:01,000 --> 00:00:02,000\n{text}\n")


@pytest.mark.parametrize(
    ("files", "language", "chosen", "reported"),
    [
        (["v.srt", "v.de.srt", "v.en-US.vtt"], None, "v.en-US.vtt", "en-US"),
        (["v.srt", "v.de.srt", "v.en-US.vtt"], "de", "v.de.srt", "de"),
        (["v.srt", "v.de.srt", "v.en-US.vtt"], "deu", "v.de.srt", "de"),
        (["v.en-GB.srt", "v.en-US.vtt"], "en-US", "v.en-US.vtt", "en-US"),
        (["v.en-GB.srt", "v.fr.srt"], "en_US", "v.en-GB.srt", "en-GB"),
        (["v.srt", "v.de.srt"], "ja", "v.srt", None),
        (["v.fr.srt", "v.de.srt"], None, "v.de.srt", "de"),
    ],
)
def test_sidecar_language_preference(
    tmp_path: Path, files: list[str], language: str | None, chosen: str, reported: str | None
) -> None:
    video = write_video(tmp_path / "v.mkv", 5)
    for name in files:
        _cue_file(tmp_path / name, name)
    transcript = load_transcript(video, language=language, asr="off")
    assert transcript.source == "sidecar"
    assert [c.text for c in transcript.cues] == [chosen]
    assert transcript.language == reported
    assert chosen in transcript.note


def test_sidecar_beats_embedded_stream(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mkv", 50, subtitles=SUBS)
    _cue_file(tmp_path / "v.srt", "from the sidecar")
    transcript = load_transcript(video)
    assert transcript == Transcript(
        (Cue(1.0, 2.0, "from the sidecar"),), "sidecar", None, "subtitles from v.srt"
    )


def test_bad_sidecar_warns_once_and_falls_back(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    video = write_video(tmp_path / "v.mkv", 50, subtitles=SUBS)
    _write(tmp_path / "v.srt", "1\n00:00:01,000 --> soon\nbroken\n")
    _write(tmp_path / "v.en.srt", "")  # empty: no cues, not an error
    with caplog.at_level(logging.INFO, logger="vrag.media._subtitles"):
        transcript = load_transcript(video)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "v.srt: line 2: bad timing line" in warnings[0].getMessage()
    assert transcript.source == "embedded"
    assert _cues(transcript.cues) == _cues(EXPECTED)


# ------------------------------------------------------------------------------------------ embedded


@pytest.mark.parametrize("start_ms", [0, 1000])
@pytest.mark.parametrize(
    ("suffix", "codec"), [(".mp4", "mov_text"), (".mov", "mov_text"), (".mkv", "srt"), (".webm", "webvtt")]
)
def test_embedded_stream_times_from_file_start(
    tmp_path: Path, suffix: str, codec: str, start_ms: int
) -> None:
    video = write_video(tmp_path / f"v{suffix}", 50, subtitles=SUBS, start_ms=start_ms)
    transcript = load_transcript(video, asr="off")
    assert transcript.source == "embedded"
    assert transcript.language == "en"
    assert transcript.note == f"embedded subtitle stream #1 ({codec})"
    assert _cues(transcript.cues) == _cues(EXPECTED)


def test_embedded_stream_with_a_video_source_and_odd_text(tmp_path: Path) -> None:
    subs = [(0.25, 0.5, "  "), (0.75, 1.0, "earlier"), (2.0, 2.5, "later {\\an8}<b>bold</b>")]
    video = write_video(tmp_path / "v.mkv", 75, subtitles=subs, start_ms=500, subtitle_language="ger")
    source = SimpleNamespace(path=video, start_time=0.5)  # what open_video returns, duck-typed
    transcript = load_transcript(source, asr="off", language="de")
    assert transcript.language == "de"
    assert _cues(transcript.cues) == [
        (0.75, 1.0, "earlier", "subtitle"),
        (2.0, 2.5, "later bold", "subtitle"),
    ]


@pytest.mark.parametrize("suffix", [".mkv", ".webm"])
def test_embedded_cue_without_duration_ends_at_the_next_cue(tmp_path: Path, suffix: str) -> None:
    subs = [(0.5, 0.5, "no length"), (1.0, 1.5, "normal"), (1.75, 1.75, "last, no length")]
    transcript = load_transcript(write_video(tmp_path / f"v{suffix}", 50, subtitles=subs), asr="off")
    assert _cues(transcript.cues) == [
        (0.5, 1.0, "no length", "subtitle"),
        (1.0, 1.5, "normal", "subtitle"),
        (1.75, 4.75, "last, no length", "subtitle"),  # shown for 3 s when nothing follows
    ]


# ------------------------------------------------------------------------------------------ ASR / none


@pytest.mark.usefixtures("no_faster_whisper")
def test_no_speech_channel_says_why(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4", 25, audio_s=1.0)
    assert load_transcript(video) == Transcript((), "none", None, NO_ASR_NOTE)
    off = load_transcript(video, asr="off")
    assert off.source == "none" and off.note == "no subtitles found and speech recognition is off (asr='off')"
    with pytest.raises(ModelUnavailableError, match=r"pip install 'vrag-video\[asr\]'"):
        load_transcript(video, asr="on")


def test_missing_model_is_reported_not_downloaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class OfflineWhisperModel:
        def __init__(self, model: str, **options: Any) -> None:
            assert options["local_files_only"] is True
            raise FileNotFoundError(f"{model} is not in the local cache")

    monkeypatch.setitem(sys.modules, "faster_whisper", SimpleNamespace(WhisperModel=OfflineWhisperModel))
    _asr._load_whisper.cache_clear()
    try:
        transcript = load_transcript(write_video(tmp_path / "v.mp4", 5), model="tiny")
    finally:
        _asr._load_whisper.cache_clear()
    assert transcript.source == "none"
    assert transcript.note.startswith(
        "no subtitles found and the faster-whisper model 'tiny' is not on this machine"
    )


class FakeWhisper:
    """Stands in for faster_whisper.WhisperModel: records its input, returns fixed segments."""

    def __init__(self, segments: list[tuple[float, float, str]], language: str = "en") -> None:
        self.segments, self.language = segments, language
        self.calls: list[tuple[np.ndarray, dict[str, Any]]] = []

    def transcribe(self, audio: np.ndarray, **options: Any) -> tuple[Any, Any]:
        self.calls.append((audio, options))
        segments = (SimpleNamespace(start=s, end=e, text=t) for s, e, t in self.segments)
        return segments, SimpleNamespace(language=self.language)


def test_asr_fallback_transcribes_16k_audio_from_the_file_start(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mkv", 50, audio_s=1.0, start_ms=1000)
    fake = FakeWhisper(
        [(0.52, 0.98, "  second  part "), (0.0, 0.5, " First part."), (0.9, 0.9, "zero"), (0.1, 0.2, " ")]
    )
    transcript = load_transcript(video, model=fake, language="en-GB")
    assert transcript.source == "asr" and transcript.language == "en"
    assert transcript.note == "speech recognition (FakeWhisper model)"
    assert _cues(transcript.cues) == [(0.0, 0.5, "First part.", "asr"), (0.52, 0.98, "second part", "asr")]
    ((audio, options),) = fake.calls
    assert options == {"language": "en", "vad_filter": True, "word_timestamps": True}
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.size - 16000) <= 64  # 1 s of tone (+ encoder padding) at 16 kHz
    assert np.abs(audio[:160]).max() > 0.1  # the tone starts at 0 s, not shifted by the video's offset


def test_asr_word_times_give_one_cue_per_sentence() -> None:
    def word(start: float, end: float, text: str) -> SimpleNamespace:
        return SimpleNamespace(start=start, end=end, word=text)

    words = [word(0.0, 0.4, " We"), word(0.4, 0.9, " chop."), word(1.5, 1.9, " Then"),
             word(1.9, 2.6, " fry?"), word(3.0, 3.5, ' "Done."'), word(3.6, 3.6, " ")]  # fmt: skip
    segment = SimpleNamespace(start=0.0, end=3.6, text='We chop. Then fry? "Done."', words=words)

    class Model:
        def transcribe(self, audio: np.ndarray, **options: Any) -> tuple[Any, Any]:
            return iter([segment]), SimpleNamespace(language="en")

    speech = _asr.transcribe(np.zeros(16000, np.float32), model=Model())
    assert _cues(speech.cues) == [
        (0.0, 0.9, "We chop.", "asr"), (1.5, 2.6, "Then fry?", "asr"), (3.0, 3.5, '"Done."', "asr"),
    ]  # fmt: skip


def test_asr_uses_video_source_audio_and_reports_silence(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4", 5)
    asked: list[int] = []

    def audio(*, sample_rate: int) -> np.ndarray:
        asked.append(sample_rate)
        return np.zeros(8000, dtype=np.float64)

    source = SimpleNamespace(path=video, start_time=0.0, audio=audio)
    transcript = load_transcript(source, model=FakeWhisper([], language="de"))
    assert asked == [16000]
    assert transcript == Transcript(
        (), "none", "de", "no subtitles found and speech recognition heard no speech"
    )
    no_audio = load_transcript(video, model=FakeWhisper([(0, 1, "never heard")]))
    assert no_audio.note == "no subtitles found and the video has no audio track"


def test_read_audio_pads_when_the_file_starts_before_its_audio(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.webm", 25, audio_s=1.0)
    plain = _asr.read_audio(video)
    shifted = _asr.read_audio(video, start_time=-0.5)  # the container starts 0.5 s before the audio
    assert shifted.size == plain.size + 8000
    assert not shifted[:8000].any()
    np.testing.assert_array_equal(shifted[8000:], plain)


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(VideoNotFoundError, match=r"missing\.mp4"):
        load_transcript(tmp_path / "missing.mp4")
    with pytest.raises(ConfigError, match="asr='maybe'"):
        load_transcript(tmp_path / "missing.mp4", asr="maybe")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="got int"):
        load_transcript(3)
