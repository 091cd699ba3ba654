"""langchain-tests' standard unit suite for the tool. It is built from an index folder that does not exist:
constructing a tool opens nothing (the index is opened on first use)."""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import ToolsUnitTests

from langchain_vrag import VideoSearchTool


class TestVideoSearchToolStandard(ToolsUnitTests):
    @property
    def tool_constructor(self) -> type[VideoSearchTool]:
        return VideoSearchTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"index": "/nonexistent/vrag-index", "k": 3}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": "what happens when the learning rate is too large", "after": 10.0, "before": 30.0}
