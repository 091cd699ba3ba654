"""A tool-calling agent that searches videos with ``VideoSearchTool`` and answers with checked citations.

The loop is plain LangChain core: the model (tools bound) either calls ``video_search`` — each call returns a
``ToolMessage`` whose content lists ``[video mm:ss–mm:ss] text`` lines and whose artifact holds the same
moments as Documents — or answers. The answer's citations are then checked against every moment the tool
returned (``vrag.search.check_citations``).

    python examples/langchain_agent.py [--index DIR] [--model PROVIDER:MODEL] [QUESTION]

Offline by default, on the demo lectures (``examples/demo_index``, built if missing). Without ``--model`` the
model is a ``GenericFakeChatModel`` playing a script: two searches, then an answer whose markers come from
the corpus' ground truth — they survive the check only if the searches really returned those slides. With
``--model`` (``ollama:llama3.1``, ... — a model that supports tool calling) a real model drives the loop.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from langchain_core.language_models import BaseChatModel, GenericFakeChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage  # noqa: E402
from langchain_core.runnables import Runnable  # noqa: E402
from langchain_core.tools import BaseTool  # noqa: E402
from langchain_qa_chain import chat_model, demo_index, ground_truth, ground_truth_marker  # noqa: E402
from langchain_vrag import VideoSearchTool, to_hits  # noqa: E402

from vrag.search import Answer, check_citations  # noqa: E402

QUESTION = "How does backpropagation get the gradients, and which activation function is the usual default?"
SYSTEM = (
    "You answer questions about a collection of lecture videos. Search them with the video_search tool (one "
    "search per topic). Answer only from what the searches return, and after each claim copy the "
    "[video mm:ss–mm:ss] marker of the moment it comes from, exactly as written."
)


class ScriptedToolModel(GenericFakeChatModel):
    """``GenericFakeChatModel`` that accepts ``bind_tools`` (it plays its script whatever the tools)."""

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any
    ) -> Runnable[Any, AIMessage]:
        return self


def scripted_model(truth: dict[str, list[dict[str, Any]]]) -> ScriptedToolModel:
    """A stand-in for a tool-calling LLM answering :data:`QUESTION`."""
    backprop = ground_truth_marker(truth, "neural_networks.mkv", "chain rule")
    default = ground_truth_marker(truth, "neural_networks.mkv", "rectified linear unit")

    def search(call_id: str, query: str) -> AIMessage:
        return AIMessage("", tool_calls=[{"name": "video_search", "args": {"query": query}, "id": call_id}])

    answer = (
        f"Backpropagation applies the chain rule layer by layer, reusing the work of the layer above, so the "
        f"error signal travels from the output back to the input {backprop}. The usual default activation is "
        f"the rectified linear unit (ReLU) {default}."
    )
    steps: list[AIMessage | str] = [
        search("1", "backpropagation chain rule"),
        search("2", "default activation"),
    ]
    steps.append(answer)
    return ScriptedToolModel(messages=iter(steps))


def run_agent(
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    question: str,
    *,
    max_steps: int = 6,
    show: Callable[[str], None] = lambda line: None,
) -> tuple[str, list[ToolMessage]]:
    """Let ``model`` call ``tools`` until it answers; returns the answer and every tool result."""
    by_name = {tool.name: tool for tool in tools}
    bound = model.bind_tools(list(tools))
    messages: list[BaseMessage] = [SystemMessage(SYSTEM), HumanMessage(question)]
    results: list[ToolMessage] = []
    for _ in range(max_steps):
        reply = bound.invoke(messages)
        messages.append(reply)
        if not reply.tool_calls:
            return reply.text, results
        for call in reply.tool_calls:
            result = by_name[call["name"]].invoke(call)
            show(f"→ {call['name']}({call['args']})\n  " + "\n  ".join(str(result.content).splitlines()))
            messages.append(result)
            results.append(result)
    raise RuntimeError(f"no answer after {max_steps} model turns")


def checked(answer: str, results: Sequence[ToolMessage]) -> Answer:
    """The answer with each citation checked against every moment the tool returned."""
    evidence = tuple(h for r in results for h in to_hits(r.artifact or []))
    text, citations, dropped = check_citations(answer, evidence)
    return Answer(text, citations, evidence, dropped)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question", nargs="?", default=QUESTION)
    parser.add_argument("--index", default=str(HERE / "demo_index"), help="index folder")
    parser.add_argument(
        "--model", help="PROVIDER:MODEL with tool calling, e.g. ollama:llama3.1 (default: scripted)"
    )
    parser.add_argument("-k", type=int, default=3, help="moments per search")
    args = parser.parse_args(argv)
    if args.model is None and args.question != QUESTION:
        parser.error(
            "the offline scripted model only answers the demo question; pass --model to ask your own"
        )

    model = chat_model(args.model) if args.model else scripted_model(ground_truth())
    print(f"Q: {args.question}\n")
    with demo_index(args.index) as index:
        text, results = run_agent(model, [VideoSearchTool(index=index, k=args.k)], args.question, show=print)
    answer = checked(text, results)
    print(f"\nA: {answer.text}\n")
    print(
        f"citations kept ({len(answer.citations)}): {[(c.video, c.start, c.end) for c in answer.citations]}"
    )
    print(f"citations removed (no moment the tool returned matches): {list(answer.dropped)}")
    return 0 if answer.citations and not answer.dropped else 1


if __name__ == "__main__":
    sys.exit(main())
