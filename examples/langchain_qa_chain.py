"""Question answering over videos with a LangChain LCEL chain, every citation checked.

    question ─► VideoRetriever ─► prompt listing each moment with its [video mm:ss–mm:ss] marker
             ─► chat model ─► answer ─► vrag.search.check_citations against the retrieved moments

    python examples/langchain_qa_chain.py [--index DIR] [--model PROVIDER:MODEL] [QUESTION]

Offline by default, on the demo lectures (generated and indexed into ``examples/demo_index`` if missing).
Without ``--model`` the chat model is LangChain's ``GenericFakeChatModel`` playing a scripted reply to the
demo question: one claim cites the slide where the lecture says it (taken from the corpus' ground truth, not
from the search), and one cites a moment that does not exist. The check keeps the first only if the retriever
really found that slide, and removes the made-up one. With ``--model`` (``ollama:llama3.1``,
``openai:gpt-4o-mini``, ...; needs ``pip install langchain langchain-<provider>``) a real model answers any
question and its citations are checked the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from langchain_core.documents import Document  # noqa: E402
from langchain_core.language_models import BaseChatModel, GenericFakeChatModel  # noqa: E402
from langchain_core.output_parsers import StrOutputParser  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402
from langchain_core.retrievers import BaseRetriever  # noqa: E402
from langchain_core.runnables import Runnable, RunnableParallel, RunnablePassthrough  # noqa: E402
from langchain_vrag import VideoRetriever, to_hits  # noqa: E402
from make_demo_corpus import make_corpus  # noqa: E402  (a sibling script, not a package)

from vrag import Hit, VideoIndex  # noqa: E402
from vrag.search import Answer, check_citations  # noqa: E402

CORPUS = HERE / "demo_corpus"
QUESTION = "What goes wrong when the learning rate is too large?"

PROMPT = ChatPromptTemplate.from_messages(
    [
        (
            "system",
            "Answer questions about videos using only the moments below. After each claim, copy the "
            "[video mm:ss–mm:ss] marker of the moment it comes from, exactly as written. If the moments do "
            "not answer the question, say so.",
        ),
        ("human", "Moments:\n{moments}\n\nQuestion: {question}"),
    ]
)


def format_moments(documents: Sequence[Document]) -> str:
    """One ``[video mm:ss–mm:ss] text`` line per retrieved moment."""
    return "\n".join(f"{d.metadata['citation']} {' '.join(d.page_content.split())}" for d in documents)


def qa_chain(retriever: BaseRetriever, model: BaseChatModel) -> Runnable[str, dict[str, Any]]:
    """The LCEL chain: ``question -> {"question", "documents", "answer"}``."""
    answer = (
        {"moments": lambda x: format_moments(x["documents"]), "question": lambda x: x["question"]}
        | PROMPT
        | model
        | StrOutputParser()
    )
    return RunnableParallel(question=RunnablePassthrough(), documents=retriever).assign(answer=answer)


def checked(result: dict[str, Any]) -> Answer:
    """The chain's answer with each citation checked against the moments it was given."""
    evidence = to_hits(result["documents"])
    text, citations, dropped = check_citations(result["answer"], evidence)
    return Answer(text, citations, tuple(evidence), dropped)


def ground_truth_marker(truth: dict[str, list[dict[str, Any]]], video: str, words: str) -> str:
    """The ``[video mm:ss–mm:ss]`` marker of the slide of ``video`` whose narration says ``words``."""
    slide = next(s for s in truth[video] if any(words in line for line in s["narration"]))
    return Hit(video, "", slide["start"], slide["end"], 0.0).citation


def scripted_model(truth: dict[str, list[dict[str, Any]]]) -> GenericFakeChatModel:
    """A stand-in for an LLM answering :data:`QUESTION`: one true citation, one made up."""
    true = ground_truth_marker(truth, "intro_to_ml.mp4", "learning rate is too large")
    made_up = Hit("intro_to_ml.mp4", "", 300.0, 310.0, 0.0).citation  # the lecture is 44 s long
    reply = (
        f"With too large a learning rate the loss diverges {true}. Halving it every epoch fixes it {made_up}."
    )
    return GenericFakeChatModel(messages=iter([reply]))


def ground_truth() -> dict[str, list[dict[str, Any]]]:
    """The demo corpus' ground truth (each slide's interval and narration); makes the corpus if missing."""
    if not (CORPUS / "ground_truth.json").exists():
        make_corpus(CORPUS)
    return json.loads((CORPUS / "ground_truth.json").read_text(encoding="utf-8"))


def chat_model(name: str) -> BaseChatModel:
    """A real chat model by ``PROVIDER:MODEL`` (LangChain's ``init_chat_model``)."""
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        sys.exit(
            f"--model {name}: needs LangChain's model loader: pip install langchain langchain-<provider>"
        )
    return init_chat_model(name)


def demo_index(location: str) -> VideoIndex:
    """The index at ``location``; when it is empty, the demo lectures are made (if missing) and indexed."""
    index = VideoIndex.open(location)
    if index.info().videos == 0:
        videos = sorted(p for p in CORPUS.glob("*") if p.suffix in {".mp4", ".mkv", ".webm"})
        print(f"indexing the demo lectures into {location} (once) ...")
        index.add(videos or make_corpus(CORPUS))
    return index


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question", nargs="?", default=QUESTION)
    parser.add_argument("--index", default=str(HERE / "demo_index"), help="index folder")
    parser.add_argument("--model", help="PROVIDER:MODEL, e.g. ollama:llama3.1 (default: scripted, offline)")
    parser.add_argument("-k", type=int, default=4, help="moments to retrieve")
    args = parser.parse_args(argv)
    if args.model is None and args.question != QUESTION:
        parser.error(
            "the offline scripted model only answers the demo question; pass --model to ask your own"
        )

    with demo_index(args.index) as index:
        if args.model:
            model: BaseChatModel = chat_model(args.model)
        else:
            model = scripted_model(ground_truth())
        result = qa_chain(VideoRetriever(index=index, k=args.k), model).invoke(args.question)
        answer = checked(result)

    print(f"Q: {args.question}\n\nretrieved moments:")
    for line in format_moments(result["documents"]).splitlines():
        print(f"  {line[:110]}")
    print(f"\nmodel's answer: {result['answer']}\n\nA: {answer.text}")
    print(f"citations kept: {_markers(answer)}")
    print(f"citations removed (no retrieved moment matches): {list(answer.dropped)}")
    return 0 if answer.citations else 1


def _markers(answer: Answer) -> list[str]:
    return [Hit(c.video, "", c.start, c.end, 0.0).citation for c in answer.citations]


if __name__ == "__main__":
    sys.exit(main())
