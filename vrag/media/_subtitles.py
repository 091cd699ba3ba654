"""Timed text from subtitle files (.srt / .vtt / .ass / .ssa) and from subtitle streams inside the video file.

Every time is in seconds from the start of the file as a player shows it (the container's start time is
subtracted), so a subtitle cue and a video frame with the same time are on screen together.

SRT and WebVTT are read by the parser here; ASS/SSA by pysubs2. pysubs2 also reads SRT/VTT, but on this
module's tests it loses text that looks like a tag (``a < b and c > d``), keeps ``&amp;`` and CR characters,
misreads WebVTT hours without leading zeros, glues a malformed timing line into the previous cue's text and
accepts cues that end before they start, so it is used only where it is the better reader. Bytes are decoded
as UTF-8/UTF-16 when they are, else as the encoding charset-normalizer finds (cp1251, Shift JIS, GB18030...).
A bad cue is skipped (and named in a warning and in the transcript's note); the good ones are kept.

Example:
    >>> from vrag.media import load_transcript  # doctest: +SKIP
    >>> transcript = load_transcript("talk.mp4")  # doctest: +SKIP
    >>> transcript.source, transcript.cues[0].text  # doctest: +SKIP
    ('sidecar', 'Welcome to the course.')
"""

from __future__ import annotations

import html
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from vrag._sentences import ends_sentence
from vrag.errors import (
    ConfigError,
    ModelUnavailableError,
    NotAVideoError,
    SubtitleError,
    VideoNotFoundError,
)
from vrag.media import _asr
from vrag.types import Cue

if TYPE_CHECKING:
    import av.container
    import av.packet
    import av.stream

__all__ = [
    "SubtitleError",
    "Transcript",
    "find_sidecar_subtitles",
    "load_transcript",
    "read_subtitle_file",
    "sentence_boundaries",
]

log = logging.getLogger(__name__)

SIDECAR_SUFFIXES = (".srt", ".vtt", ".ass", ".ssa")
SENTENCE_GAP_S = 0.6
_LAST_CUE_S = 3.0  # length given to a final embedded cue that carries no duration at all
_TS = r"(?:(\d+):)?(\d{1,2}):(\d{2})[,.](\d{1,3})"
_TIMING = re.compile(rf"^{_TS}\s*-->\s*{_TS}(?:\s.*)?$")
_LANG_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
_TAG = re.compile(r"</?[A-Za-z][\w.-]*(?:\s[^<>]*)?>|<\d[\d:.]*>")  # <i>, </b>, <c.x>, <v Ann>, <00:01.000>
_ASS_OVERRIDE = re.compile(r"\{\\[^}]*\}")  # {\an8}, {\i1}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # ESC, NUL, ... (newlines and tabs stay)
_VTT_BLOCKS = ("WEBVTT", "NOTE", "STYLE", "REGION")
_RAW_TEXT_CODECS = frozenset({"mov_text", "subrip", "srt", "webvtt", "text"})
_BITMAP_CODECS = frozenset({"dvd_subtitle", "dvb_subtitle", "hdmv_pgs_subtitle", "xsub", "dvb_teletext"})
_ISO639_2 = {
    "ara": "ar", "chi": "zh", "zho": "zh", "cze": "cs", "ces": "cs", "dan": "da", "dut": "nl", "nld": "nl",
    "eng": "en", "fin": "fi", "fre": "fr", "fra": "fr", "ger": "de", "deu": "de", "gre": "el", "ell": "el",
    "heb": "he", "hin": "hi", "hun": "hu", "ind": "id", "ita": "it", "jpn": "ja", "kor": "ko", "nor": "no",
    "pol": "pl", "por": "pt", "rum": "ro", "ron": "ro", "rus": "ru", "spa": "es", "swe": "sv", "tha": "th",
    "tur": "tr", "ukr": "uk", "vie": "vi",
}  # fmt: skip

Source = Literal["sidecar", "embedded", "asr", "none"]
AsrMode = Literal["auto", "on", "off"]


@dataclass(frozen=True, slots=True)
class Transcript:
    """The speech channel of a video: timed cues and where they came from.

    Attributes:
        cues: sorted by start time; empty when ``source == "none"``.
        source: ``"sidecar"`` (a .srt/.vtt next to the video), ``"embedded"`` (a subtitle stream inside it),
            ``"asr"`` (speech recognition) or ``"none"``.
        language: language tag of the cues when known (``"en"``, ``"en-US"``), else ``None``.
        note: one line saying where the cues came from, or why there are none.
    """

    cues: tuple[Cue, ...]
    source: Source
    language: str | None = None
    note: str = ""


# ---------------------------------------------------------------------------------------------- parsing


def read_subtitle_file(path: str | Path) -> list[Cue]:
    """Read an SRT, WebVTT, ASS or SSA file into cues sorted by start time (markup and empty cues dropped).

    A malformed cue is skipped with a warning naming its line; the rest of the file is kept.

    Raises:
        SubtitleError: the file is missing or unreadable, or it has no cue (names the first bad line).
    """
    cues, skipped = read_subtitles(path)
    _warn_skipped(skipped)
    return cues


def _warn_skipped(skipped: Sequence[SubtitleError]) -> None:
    """One warning for the bad cues of a file (a broken file may have thousands)."""
    if skipped:
        more = f" (and {len(skipped) - 1} more bad cues)" if len(skipped) > 1 else ""
        log.warning("skipping a bad cue: %s%s", skipped[0], more)


def read_subtitles(path: str | Path) -> tuple[list[Cue], list[SubtitleError]]:
    """The good cues of a subtitle file and what was wrong with the cues it skipped.

    Raises:
        SubtitleError: the file is missing or unreadable, or it has errors and no cue at all.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SubtitleError(path, f"cannot be read ({err.strerror or err})", fix="check the path") from err
    text = _decode_bytes(data)
    if path.suffix.lower() in (".ass", ".ssa"):
        return _parse_ass(text, path), []
    return _parse(text, path)


def parse_subtitles(text: str, path: str | Path = "<string>") -> list[Cue]:
    """Parse SRT or WebVTT text (``path`` only names the source in errors); bad cues are skipped.

    Raises:
        SubtitleError: the text has errors and no cue at all.
    """
    return _parse(text, Path(path))[0]


def _parse(text: str, path: Path) -> tuple[list[Cue], list[SubtitleError]]:
    parser = _Parser(path)
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        parser.feed(number, line.strip())
    cues = parser.finish()
    if parser.errors and not cues:
        raise parser.errors[0]
    return cues, parser.errors


def _parse_ass(text: str, path: Path) -> list[Cue]:
    import pysubs2

    try:
        subs = pysubs2.SSAFile.from_string(text, format_="ass")
    except Exception as err:  # pysubs2 raises several types for a broken file
        raise SubtitleError(path, f"is not a readable ASS/SSA file ({err})") from err
    cues = [
        Cue(e.start / 1000, e.end / 1000, t, "subtitle")
        for e in subs
        if not e.is_comment and e.end >= e.start and (t := clean_text(e.text, ass=True))
    ]
    return sorted(cues, key=lambda c: (c.start, c.end))


class _Parser:
    """Line-by-line SRT/WebVTT reader: tolerant of ids, cue settings and stray blank lines; a malformed cue
    is skipped (its error kept in ``errors``) and reading goes on at the next cue."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.cues: list[tuple[float, float, list[str]]] = []
        self.errors: list[SubtitleError] = []
        self.in_cue = False  # collecting text lines of the last cue
        self.skipping = False  # inside a WEBVTT header / NOTE / STYLE / REGION block, or a bad cue
        self.pending: list[tuple[int, str]] = []  # lines outside a cue: an id, or text that lost its cue

    def feed(self, number: int, line: str) -> None:
        if "-->" in line:
            self._start_cue(number, line)
        elif not line:
            self._flush_pending()
            self.in_cue = self.skipping = False
        elif self.in_cue:
            self.cues[-1][2].append(line)
        elif not self.pending and not self.skipping and line.split(" ", 1)[0] in _VTT_BLOCKS:
            self.skipping = True
        elif not self.skipping:
            self.pending.append((number, line))

    def finish(self) -> list[Cue]:
        self._flush_pending()
        cues = [Cue(s, e, t, "subtitle") for s, e, lines in self.cues if (t := clean_text("\n".join(lines)))]
        return sorted(cues, key=lambda c: (c.start, c.end))

    def _start_cue(self, number: int, line: str) -> None:
        self.pending = self.pending[:-1]  # the line right before a timing line is the cue's id
        self._flush_pending()
        if self.in_cue and self.cues[-1][2] and self.cues[-1][2][-1].isdigit():
            self.cues[-1][2].pop()  # an SRT cue number with no blank line before it
        match = _TIMING.match(line)
        problem = None if match else f"bad timing line {line!r}"
        if match:
            start, end = _seconds(match.groups()[:4]), _seconds(match.groups()[4:])
            problem = f"cue ends before it starts: {line!r}" if end < start else None
        if problem is not None:  # skip this cue's text, keep reading
            self.errors.append(SubtitleError(self.path, problem, line=number))
            self.in_cue, self.skipping = False, True
            return
        self.cues.append((start, end, []))
        self.in_cue, self.skipping = True, False

    def _flush_pending(self) -> None:
        """Text outside any cue: a cue's text split by a blank line, so it joins the cue before it."""
        if not self.pending:
            return
        if not self.cues:
            number, line = self.pending[0]
            self.errors.append(
                SubtitleError(self.path, f"text before the first timing line: {line!r}", line=number)
            )
        else:
            self.cues[-1][2].extend(line for _, line in self.pending)
        self.pending = []


def _seconds(groups: Sequence[str | None]) -> float:
    hours, minutes, seconds, fraction = groups
    millis = int((fraction or "0").ljust(3, "0"))
    total_ms = ((int(hours or 0) * 60 + int(minutes or 0)) * 60 + int(seconds or 0)) * 1000 + millis
    return total_ms / 1000


def _decode_bytes(data: bytes) -> str:
    """UTF-16 (by its BOM) or UTF-8 when the bytes are, else what charset-normalizer finds, else cp1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return str(best) if best is not None else data.decode("cp1252", errors="replace")


def clean_text(text: str, *, ass: bool = False) -> str:
    """Plain text of a cue: tags, ASS override blocks, entities and control characters (ESC, NUL...) resolved
    or removed, one line per shown line.

    Args:
        ass: the text is an ASS dialogue text (``\\N`` line breaks, ``\\h`` hard spaces).
    """
    if ass:
        text = text.replace("\\N", "\n").replace("\\n", "\n").replace("\\h", " ")
    text = _CONTROL.sub("", html.unescape(_TAG.sub("", _ASS_OVERRIDE.sub("", text))))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def sentence_boundaries(cues: Iterable[Cue]) -> list[float]:
    """Times where a sentence ends: a cue whose text ends with . ! ? … or that a pause follows.

    A pause is a gap of at least 0.6 s before the next cue starts; the last cue always ends a sentence.

    Example:
        >>> from vrag.types import Cue
        >>> sentence_boundaries([Cue(0, 1, "Hello there."), Cue(1, 2, "This goes"), Cue(2, 3, "on")])
        [1.0, 3.0]
    """
    ordered = sorted(cues, key=lambda c: (c.start, c.end))
    times: set[float] = set()
    latest_end = float("-inf")
    for cue, following in zip(ordered, [*ordered[1:], None], strict=False):
        latest_end = max(latest_end, cue.end)
        pause = following is None or following.start - latest_end >= SENTENCE_GAP_S - 1e-9
        if pause or ends_sentence(cue.text):
            times.add(float(latest_end if pause else cue.end))
    return sorted(times)


# ---------------------------------------------------------------------------------------------- languages


def normalize_language(tag: str | None) -> str | None:
    """``"eng"`` → ``"en"``, ``"en_US"`` → ``"en-US"``, ``"und"``/empty → ``None``."""
    if not tag or tag.lower() in ("und", "unk", "zxx", "mul"):
        return None
    primary, *rest = tag.replace("_", "-").split("-")
    primary = _ISO639_2.get(primary.lower(), primary.lower())
    return "-".join([primary, *rest])


def _language_rank(tag: str | None, wanted: str | None) -> int:
    """2: the tag asked for, 1: same primary language as asked, 0: no match."""
    tag, wanted = normalize_language(tag), normalize_language(wanted)
    if tag is None or wanted is None:
        return 0
    if tag.lower() == wanted.lower():
        return 2
    return int(tag.split("-")[0] == wanted.split("-")[0])


def _rank_by_language(items: list[Any], tags: list[str | None], wanted: str | None) -> list[Any]:
    """Order ``items``: the requested language first, else English first, else as given (stable)."""
    keys = [(-_language_rank(tag, wanted), -_language_rank(tag, "en")) for tag in tags]
    order = sorted(range(len(items)), key=lambda i: keys[i])
    return [items[i] for i in order]


# ---------------------------------------------------------------------------------------------- sidecars


def find_sidecar_subtitles(video_path: str | Path) -> list[Path]:
    """Subtitle files next to a video with the same stem: ``talk.srt``, ``talk.en.vtt``, ``talk.pt-BR.ass``.

    A video reached through a symbolic link also finds those beside its target (named after the target), so
    the link and the real path index the same transcript.

    Returns:
        Paths sorted with the plain ``stem.srt``/``stem.vtt`` first, then by name.
    """
    return [path for path, _ in _sidecars(Path(video_path))]


def transcript_sources(video_path: str | os.PathLike[str]) -> list[Path]:
    """The files a video's transcript may come from (its sidecars): a change to any re-indexes the video."""
    return find_sidecar_subtitles(Path(video_path))


def _sidecars(video_path: Path) -> list[tuple[Path, str | None]]:
    """``(sidecar, language tag or None)`` beside the video and, for a link, beside its target."""
    found: dict[Path, tuple[Path, str | None]] = {}  # by the file itself: a path given relative or through
    video_path = Path(os.path.abspath(video_path))  # a link finds each sidecar once, under one name
    for place in dict.fromkeys([video_path, _target(video_path)]):
        folder, prefix = place.parent, place.stem + "."
        try:
            names = [p for p in folder.iterdir() if p.name.startswith(prefix) and p.is_file()]
        except OSError:
            continue
        for p in names:
            tag = _sidecar_tag(place, p)
            if p.suffix.lower() in SIDECAR_SUFFIXES and tag != "?":
                found.setdefault(_target(p), (p, tag))
    return sorted(found.values(), key=lambda item: (item[1] is not None, item[0].name))


def _target(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path


def _sidecar_tag(video_path: Path, subtitle: Path) -> str | None:
    """The language tag in ``stem.TAG.srt``; ``None`` for ``stem.srt``; ``"?"`` when it is not a tag."""
    middle = subtitle.name[len(video_path.stem) + 1 : -len(subtitle.suffix)]
    if not middle:
        return None
    return middle if _LANG_TAG.match(middle) else "?"


def _from_sidecars(video_path: Path, language: str | None) -> Transcript | None:
    found = _sidecars(video_path)
    for path, tag in _rank_by_language(found, [tag for _, tag in found], language):
        try:
            cues, skipped = read_subtitles(path)
        except SubtitleError as err:
            log.warning("skipping subtitle file: %s", err)
            continue
        _warn_skipped(skipped)
        if cues:
            note = f"subtitles from {path.name}"
            if skipped:
                note += f" ({len(skipped)} bad cues skipped, the first at line {skipped[0].line})"
            return Transcript(tuple(cues), "sidecar", tag and tag.replace("_", "-"), note)
        log.info("%s has no cues; trying the next source", path)
    return None


# ---------------------------------------------------------------------------------------------- embedded


def _from_embedded(video_path: Path, start_time: float | None, language: str | None) -> Transcript | None:
    import av

    try:
        container = av.open(str(video_path))
    except av.FFmpegError as err:
        raise NotAVideoError(video_path, f"cannot be opened to read its subtitles ({err})") from err
    with container:
        streams = [s for s in container.streams.subtitles if _is_text_stream(s)]
        tags = [s.metadata.get("language") for s in streams]
        offset = _asr.container_start(container) if start_time is None else start_time
        for stream in _rank_by_language(streams, tags, language):
            cues = _read_stream(container, stream, offset, video_path)
            if cues:
                lang = normalize_language(stream.metadata.get("language"))
                note = f"embedded subtitle stream #{stream.index} ({stream.codec_context.name})"
                return Transcript(tuple(cues), "embedded", lang, note)
    return None


def _is_text_stream(stream: av.stream.Stream) -> bool:
    name = stream.codec_context.name if stream.codec_context is not None else ""
    return bool(name) and name not in _BITMAP_CODECS


def _read_stream(
    container: av.container.InputContainer, stream: av.stream.Stream, offset: float, path: Path
) -> list[Cue]:
    """Cues of one text subtitle stream; a stream that fails to decode is logged and yields what it had."""
    import av

    timed: list[tuple[float, float | None, str]] = []
    try:
        for packet in container.demux(stream):
            if packet.pts is not None and packet.size > 0 and packet.time_base is not None:
                start = float(packet.pts * packet.time_base) - offset
                end = start + float(packet.duration * packet.time_base) if packet.duration else None
                timed.append(_packet_cue(stream, packet, start, end))
    except av.FFmpegError as err:
        log.warning("%s: subtitle stream #%d stopped decoding (%s)", path, stream.index, err)
    return _finish_cues(timed)


def _packet_cue(
    stream: av.stream.Stream, packet: av.packet.Packet, start: float, end: float | None
) -> tuple[float, float | None, str]:
    """(start, end or None when unknown, text) of one subtitle packet; the decoder fills a missing end."""
    codec = stream.codec_context.name
    if codec in _RAW_TEXT_CODECS:
        text = _raw_text(bytes(packet), codec)
        if end is None:
            end = _decoded(stream, packet, start)[0]
        return start, end, text
    decoded_end, text = _decoded(stream, packet, start)
    return start, end if end is not None else decoded_end, text


def _raw_text(data: bytes, codec: str) -> str:
    """The text of a packet as stored: mov_text has a 2-byte big-endian length (style boxes may follow)."""
    if codec == "mov_text":
        size = int.from_bytes(data[:2], "big")
        data = data[2 : 2 + size]
    return clean_text(data.decode("utf-8", errors="replace"))


def _decoded(stream: av.stream.Stream, packet: av.packet.Packet, start: float) -> tuple[float | None, str]:
    """(end, text) from FFmpeg's decoder: ASS dialogue lines 'ReadOrder,Layer,Style,...,Text'."""
    subtitle_set = stream.codec_context.decode2(packet)  # type: ignore[attr-defined]
    if subtitle_set is None:
        return None, ""
    texts = [_ass_text(rect.ass) for rect in subtitle_set if rect.type == b"ass"]
    shown = subtitle_set.end_display_time
    end = start + shown / 1000 if 0 < shown < 0xFFFFFFFF else None
    return end, clean_text("\n".join(texts), ass=True)


def _ass_text(line: bytes) -> str:
    """The last field of an ASS event 'ReadOrder,Layer,Style,Name,MarginL,MarginR,MarginV,Effect,Text'."""
    return line.decode("utf-8", errors="replace").split(",", 8)[-1]


def _finish_cues(timed: list[tuple[float, float | None, str]]) -> list[Cue]:
    """Sort, drop empty text, and end a cue of unknown length where the next one starts."""
    timed = sorted((t for t in timed if t[2]), key=lambda t: t[0])
    cues = []
    for i, (start, end, text) in enumerate(timed):
        if end is None:
            end = timed[i + 1][0] if i + 1 < len(timed) else start + _LAST_CUE_S
        cues.append(Cue(round(start, 6), round(max(end, start), 6), text, "subtitle"))
    return sorted(cues, key=lambda c: (c.start, c.end))


# ---------------------------------------------------------------------------------------------- all sources


def load_transcript(
    video: Any,
    *,
    asr: AsrMode = "auto",
    language: str | None = None,
    model: str | _asr.WhisperLike = _asr.DEFAULT_MODEL,
) -> Transcript:
    """The speech channel of a video, from the best source available.

    Order: a sidecar subtitle file (``talk.srt``, ``talk.en.vtt``), then a text subtitle stream inside the
    file, then speech recognition with faster-whisper, else an empty transcript whose ``note`` says why.
    A malformed sidecar is logged as a warning and skipped.

    Args:
        video: a ``VideoSource`` (anything with ``.path`` and ``.start_time``) or a path.
        asr: ``"auto"`` runs faster-whisper when it is installed and its model is on this machine;
            ``"on"`` requires it (raises when unavailable); ``"off"`` never runs it.
        language: preferred language tag (``"en"``, ``"de"``, ``"pt-BR"``) for subtitles and ASR.
        model: faster-whisper model size (``"small"``), local model folder, or a loaded model.

    Raises:
        VideoNotFoundError: the video path does not exist.
        ModelUnavailableError: ``asr="on"`` and faster-whisper or its model is not available.
    """
    if asr not in ("auto", "on", "off"):
        raise ConfigError(f"asr={asr!r} is not one of 'auto', 'on', 'off'")
    path, start_time = _video_location(video)
    if not path.is_file():
        raise VideoNotFoundError(path, "no such video file")
    found = _from_sidecars(path, language) or _from_embedded(path, start_time, language)
    if found is not None:
        return found
    if asr == "off":
        return Transcript((), "none", None, "no subtitles found and speech recognition is off (asr='off')")
    return _from_asr(video, path, start_time, asr=asr, language=language, model=model)


def _video_location(video: Any) -> tuple[Path, float | None]:
    """(path, container start time or None when unknown) of a VideoSource-like object or a path."""
    if isinstance(video, str | Path):
        return Path(video), None
    path = getattr(video, "path", None)
    if path is None:
        raise ConfigError(f"expected a video path or VideoSource, got {type(video).__name__}")
    start = getattr(video, "start_time", None)
    return Path(path), float(start) if start is not None else None


def _from_asr(
    video: Any, path: Path, start_time: float | None, *, asr: str, language: str | None, model: Any
) -> Transcript:
    try:
        whisper = _asr.load_whisper(model) if isinstance(model, str) else model
    except ModelUnavailableError as err:
        if asr == "on":
            raise
        return Transcript((), "none", None, f"no subtitles found and {err}")
    audio = _asr.read_audio(video if not isinstance(video, str | Path) else path, start_time=start_time)
    if audio.size == 0:
        return Transcript((), "none", None, "no subtitles found and the video has no audio track")
    speech = _asr.transcribe(audio, model=whisper, language=language)
    if not speech.cues:
        return Transcript(
            (), "none", speech.language, "no subtitles found and speech recognition heard no speech"
        )
    return Transcript(speech.cues, "asr", speech.language, f"speech recognition ({_asr.model_name(model)})")
