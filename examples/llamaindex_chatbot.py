"""A LlamaIndex chatbot that answers questions about the demo lectures, citing ``[video mm:ss–mm:ss]`` spans.

    python examples/llamaindex_chatbot.py [--index DIR] [--llm offline|ollama:M|openai:M] [QUESTION]...

A ``CondensePlusContextChatEngine`` takes each turn's context from ``VideoRetriever`` (the vrag index) and
asks an LLM to answer from it, copying the citation marker of each passage it uses. Every answer's markers
are then checked against the retrieved spans (``vrag.search.check_citations``): one that points nowhere is
removed and reported.

Offline by default: ``QuotingLLM`` is a small deterministic LlamaIndex LLM that reads the passages in its
prompt and quotes the sentence sharing most words with the question, with that passage's marker
(``vrag.search.extractive_answer``). It condenses a follow-up by adding the previous question to it. Any
LlamaIndex LLM works instead: ``--llm ollama:llama3.2`` (``pip install llama-index-llms-ollama``) or
``--llm openai:gpt-4o-mini`` (``pip install llama-index-llms-openai``, ``OPENAI_API_KEY``).

Needs ``pip install -e integrations/llamaindex/llama-index-retrievers-vrag``. Without ``--index`` it uses
``examples/demo_index`` (what ``make demo`` builds), indexing the demo corpus first if that is missing.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llama_index.core.chat_engine import CondensePlusContextChatEngine
from llama_index.core.llms import (
    LLM,
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    CompletionResponseGen,
    CustomLLM,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.memory import ChatMemoryBuffer
from llama_index.retrievers.vrag import VideoRetriever, node_to_hit

import vrag
from vrag.search import Citation, check_citations, extractive_answer

HERE = Path(__file__).resolve().parent

CONTEXT_PROMPT = """You answer questions about a collection of videos using only the passages below. Each \
passage starts with the marker of the moment it comes from, `citation: [video mm:ss–mm:ss]`. After each \
claim, copy that marker exactly as written. If the passages do not answer the question, say that the videos \
do not say.

Passages:

{context_str}
"""

CONVERSATION = (
    "What goes wrong when the learning rate is too large?",
    "How does backpropagation send the error backwards?",
    "Why does a model that memorises its training set fail?",
    "What helps against it?",
)

_MARKER = re.compile(r"citation: (\[([^\[\]]+?) (\d+(?::\d\d){1,2}\.\d)–(\d+(?::\d\d){1,2}\.\d)\])")


def _seconds(stamp: str) -> float:
    total = 0.0
    for part in stamp.split(":"):
        total = total * 60 + float(part)
    return total


def passages(context: str) -> list[vrag.Hit]:
    """The cited passages of a prompt's context, as hits (file name, span and text)."""
    marks = list(_MARKER.finditer(context))
    ends = [m.start() for m in marks[1:]] + [len(context)]
    return [
        vrag.Hit(
            m.group(2),
            m.group(2),
            _seconds(m.group(3)),
            _seconds(m.group(4)),
            0.0,
            context[m.end() : end].strip(),
        )
        for m, end in zip(marks, ends, strict=True)
    ]


class QuotingLLM(CustomLLM):
    """An offline, deterministic LLM for the demo: it answers only from the cited passages in its prompt."""

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="quoting-offline", is_chat_model=True, context_window=32768)

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        context = "\n\n".join(m.content or "" for m in messages if m.role == MessageRole.SYSTEM)
        question = next(m.content or "" for m in reversed(messages) if m.role == MessageRole.USER)
        answer = extractive_answer(question, passages(context), passages=1).text
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=answer))

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        follow_up = re.search(r"Follow Up Input: (.*)", prompt)
        if follow_up:  # condensing a follow-up question: carry the previous question's words along
            asked = re.findall(r"^\s*user: (.*)$", prompt, flags=re.MULTILINE)
            return CompletionResponse(text=" ".join([follow_up.group(1).strip(), *asked[-1:]]))
        question = prompt.strip().splitlines()[-1] if prompt.strip() else ""
        return CompletionResponse(text=extractive_answer(question, passages(prompt), passages=1).text)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        yield self.complete(prompt, formatted=formatted)


@dataclass(frozen=True)
class Turn:
    """One answered question: the answer without made-up markers, what it cites, what was removed."""

    question: str
    answer: str
    citations: tuple[Citation, ...]
    dropped: tuple[str, ...]
    sources: tuple[vrag.Hit, ...]


def build_chat_engine(
    index: vrag.VideoIndex, llm: LLM | None = None, *, k: int = 3
) -> CondensePlusContextChatEngine:
    """A chat engine whose context for each turn is the ``k`` best moments of the indexed videos."""
    llm = llm or QuotingLLM()
    return CondensePlusContextChatEngine.from_defaults(
        retriever=VideoRetriever(index, similarity_top_k=k),
        llm=llm,
        context_prompt=CONTEXT_PROMPT,
        # an in-process buffer (the default Memory keeps the chat in an aiosqlite database)
        memory=ChatMemoryBuffer.from_defaults(token_limit=llm.metadata.context_window - 256),
    )


def ask(engine: CondensePlusContextChatEngine, question: str) -> Turn:
    """One chat turn, its citations checked against the moments the retriever gave the LLM."""
    response = engine.chat(question)
    sources = tuple(node_to_hit(n.node) for n in response.source_nodes)
    answer, citations, dropped = check_citations(response.response, sources)
    return Turn(question, answer, citations, dropped, sources)


def load_llm(spec: str) -> LLM:
    """``offline``, ``ollama:MODEL`` or ``openai:MODEL`` (the package must be installed)."""
    kind, _, model = spec.partition(":")
    if kind == "offline":
        return QuotingLLM()
    packages = {
        "ollama": ("llama_index.llms.ollama", "Ollama"),
        "openai": ("llama_index.llms.openai", "OpenAI"),
    }
    if kind not in packages or not model:
        raise SystemExit(f"--llm {spec}: use offline, ollama:MODEL or openai:MODEL")
    module, cls = packages[kind]
    try:
        factory = getattr(__import__(module, fromlist=[cls]), cls)
    except ImportError:
        raise SystemExit(f"--llm {spec}: pip install llama-index-llms-{kind}") from None
    return factory(model=model, request_timeout=120.0) if kind == "ollama" else factory(model=model)


def open_demo_index(location: Path) -> vrag.VideoIndex:
    """The demo index; built from the demo corpus (generated if missing) when the folder does not exist."""
    if location.exists():
        return vrag.VideoIndex.open(location)
    sys.path.insert(0, str(HERE))
    from make_demo_corpus import make_corpus

    corpus = HERE / "demo_corpus"
    videos = sorted(p for p in corpus.glob("*") if p.suffix in {".mp4", ".mkv", ".webm"}) or make_corpus(
        corpus
    )
    index = vrag.VideoIndex.open(location)
    print(f"indexing {len(videos)} demo videos into {location} ...")
    index.add(videos)
    return index


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="*", help="questions, asked in one conversation (default: a demo)")
    parser.add_argument("--index", type=Path, default=HERE / "demo_index", help="vrag index folder")
    parser.add_argument("--llm", default="offline", help="offline (default), ollama:MODEL or openai:MODEL")
    parser.add_argument("-k", type=int, default=3, help="moments retrieved per turn")
    args = parser.parse_args(argv)
    llm = load_llm(args.llm)
    made_up = 0
    with open_demo_index(args.index) as index:
        engine = build_chat_engine(index, llm, k=args.k)
        for question in args.questions or CONVERSATION:
            turn = ask(engine, question)
            print(f"\nQ: {turn.question}\nA: {turn.answer}")
            for hit in turn.sources:
                print(f"   source {hit.citation} {hit.score:.3f}")
            for marker in turn.dropped:
                print(f"   removed {marker}: it matches no retrieved moment")
            made_up += len(turn.dropped)
    print(f"\n{made_up} made-up citation(s) removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
