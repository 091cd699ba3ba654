"""The command line as users of well-liked tools expect it: global options anywhere, `vrag videos`, --jsonl,
times as 1:30, vrag.toml found where it should be, reads that load no model, an OpenAI-compatible --llm."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.test_index import _corpus
from vrag.cli import main as cli
from vrag.errors import ConfigError, LLMError
from vrag.llm import ChatClient, resolve_llm

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def idx(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("cli")
    videos = _corpus(root / "corpus")
    where = str(root / "idx")
    settings = root / "build.toml"
    settings.write_text(
        '[index]\nchunker = "fixed"\nchunk_options = {window = 2.0}\nocr = "off"\nworkers = 0\n'
    )
    assert (
        cli(
            [
                "index",
                *map(str, videos),
                "--index",
                where,
                "--encoder",
                "none",
                "-q",
                "--config",
                str(settings),
            ]
        )
        == 0
    )
    return where


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_global_options_go_before_or_after_the_verb(idx: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, before, _ = _run(capsys, "--index", idx, "--json", "info")
    _, after, _ = _run(capsys, "info", "--index", idx, "--json")
    assert json.loads(before) == json.loads(after) and json.loads(after)["videos"] == 3


def test_videos_lists_what_is_indexed_as_text_json_and_jsonl(
    idx: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text, _ = _run(capsys, "videos", "--index", idx)
    assert code == 0 and len(text.splitlines()) == 3 and "cooking.mp4" in text and "00:04" in text
    assert all(" 2 seg " in line for line in text.splitlines())
    rows = json.loads(_run(capsys, "videos", "--index", idx, "--json")[1])
    assert {Path(r["path"]).name for r in rows} == {"cooking.mp4", "space.mkv", "garden.webm"}
    assert all({"video_id", "path", "duration", "segments"} <= set(r) for r in rows)
    lines = _run(capsys, "--jsonl", "videos", "--index", idx)[1].splitlines()
    assert [json.loads(line)["video_id"] for line in lines] == [r["video_id"] for r in rows]


def test_search_takes_times_as_m_ss_and_streams_jsonl(idx: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys, "search", "rocket orbit", "--index", idx, "--after", "0:02", "--jsonl", "-k", "3"
    )
    hits = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and hits and all(h["start"] >= 2.0 for h in hits)
    assert all(h["url"].startswith("file:///") and "#t=" in h["url"] and h["id"] for h in hits)
    code, _, err = _run(capsys, "search", "x", "--index", idx, "--before", "inf")
    assert code == 2 and err.count("\n") == 1 and "before" in err
    code, _, err = _run(capsys, "search", "x", "--index", idx, "--where", "n=99999999999999999999999")
    assert code == 2 and err.count("\n") == 1 and "64-bit" in err


def test_vrag_toml_is_found_in_the_working_directory_then_the_user_config(
    idx: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "xdg"
    (home / "vrag").mkdir(parents=True)
    (home / "vrag" / "vrag.toml").write_text("[search]\nk = 2\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    assert len(json.loads(_run(capsys, "search", "the", "--index", idx, "--json")[1])) == 2
    (tmp_path / "vrag.toml").write_text("[search]\nk = 1\n[llm]\nmodel = 'ollama:x'\n")  # the cwd wins
    assert len(json.loads(_run(capsys, "search", "the", "--index", idx, "--json")[1])) == 1
    (tmp_path / "vrag.toml").write_text("[serch]\nk = 1\n")
    code, _, err = _run(capsys, "info", "--index", idx)
    assert code == 2 and "unknown table [serch]" in err
    (tmp_path / "vrag.toml").write_text('chunker = "nope"\n[llm]\nmodel = "ollama:x"\n')
    code, _, err = _run(capsys, "info", "--index", idx)
    assert code == 2 and "'chunker' is outside a table; put it under [index]" in err


def test_ingest_settings_never_stop_a_read_and_add_names_the_one_that_differs(
    idx: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VRAG_OCR", "on")
    monkeypatch.setenv("VRAG_CHUNKER", "semantic")
    assert _run(capsys, "search", "onions", "--index", idx, "-k", "1")[0] == 0
    code, _, err = _run(capsys, "index", str(tmp_path), "--index", idx)
    assert code == 2 and "ocr = 'on'" in err and "chunker = 'semantic'" in err and "--index NEW_DIR" in err


@pytest.mark.parametrize("verb", [["info"], ["search", "orbit", "--channel", "bm25"], ["videos"]])
def test_read_commands_load_no_model(idx: str, verb: list[str]) -> None:
    code = (
        "import sys, json; from vrag.cli import main; "
        f"rc = main({[*verb, '--index', idx, '--json']!r}); "
        "print(json.dumps([rc, sorted(m for m in ('torch', 'transformers', 'sentence_transformers') "
        "if m in sys.modules)]), file=sys.stderr)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    rc, heavy = json.loads(run.stderr.strip().splitlines()[-1])
    assert rc == 0 and heavy == []


class _Chat(BaseHTTPRequestHandler):
    """An OpenAI-compatible /chat/completions endpoint that answers from the evidence it is given."""

    seen: list[dict[str, Any]] = []  # noqa: RUF012

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Chat.seen.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        if body["model"] == "broken":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"model crashed")
            return
        prompt = body["messages"][0]["content"]
        marker = next(line.split("] ")[0] + "]" for line in prompt.splitlines() if "onions" in line)
        reply = {"choices": [{"message": {"role": "assistant", "content": f"Chop them finely. {marker}"}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def chat_server() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Chat)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


def test_ask_talks_to_an_openai_compatible_server(
    idx: str, chat_server: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VRAG_TEST_KEY", "sekret")
    monkeypatch.chdir(Path(idx).parent)
    Path("vrag.toml").write_text(
        f"[llm]\nmodel = 'tiny-chat'\nbase_url = '{chat_server}'\napi_key_env = 'VRAG_TEST_KEY'\n"
    )
    code, out, _ = _run(capsys, "ask", "how do we cut the onions?", "--index", idx, "--json")
    answer = json.loads(out)
    assert code == 0 and answer["answer"].startswith("Chop them finely. [cooking.mp4")
    assert answer["citations"][0]["video"].endswith("cooking.mp4")
    call = _Chat.seen[-1]
    assert call["path"] == "/v1/chat/completions" and call["model"] == "tiny-chat"
    assert call["auth"] == "Bearer sekret" and "onions" in call["messages"][0]["content"]


def test_llm_errors_are_typed_and_say_where(chat_server: str) -> None:
    with pytest.raises(LLMError, match="answered 500"):
        ChatClient("broken", base_url=chat_server)("hi")
    with pytest.raises(LLMError, match="cannot reach"):
        ChatClient("x", base_url="http://127.0.0.1:9/v1", timeout=2)("hi")
    with pytest.raises(ConfigError, match="not a callable that takes a prompt"):
        resolve_llm("py:os:getcwd")
    with pytest.raises(ConfigError, match="PROVIDER:MODEL"):
        resolve_llm("nonsense")
    assert resolve_llm("vllm:qwen").base_url == "http://localhost:8000/v1"  # type: ignore[attr-defined]


def test_py_llm_that_returns_no_text_is_a_typed_error(idx: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "ask", "onions?", "--index", idx, "--llm", "py:os:getcwd")
    assert code == 2 and err.count("\n") == 1 and "takes a prompt" in err
    code, _, err = _run(capsys, "ask", "onions?", "--index", idx, "--llm", "py:builtins:len")
    assert code == 2 and "returned int, not text" in err


def test_loading_a_model_keeps_download_bars_visible() -> None:
    from huggingface_hub.utils import are_progress_bars_disabled

    from vrag.encoders._loading import quiet_loading

    with quiet_loading():
        assert not are_progress_bars_disabled()
