"""langchain-tests' standard integration suites on the demo-lecture index."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests, ToolsIntegrationTests

from langchain_vrag import VideoRetriever, VideoSearchTool
from vrag import VideoIndex


class TestVideoRetrieverStandard(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _use(self, index: VideoIndex) -> None:
        self.index = index

    @property
    def retriever_constructor(self) -> type[VideoRetriever]:
        return VideoRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"index": self.index, "k": 2}

    @property
    def retriever_query_example(self) -> str:
        return "how does backpropagation use the chain rule"


class TestVideoSearchToolStandard(ToolsIntegrationTests):
    @pytest.fixture(autouse=True)
    def _use(self, index: VideoIndex) -> None:
        self.index = index

    @property
    def tool_constructor(self) -> type[VideoSearchTool]:
        return VideoSearchTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"index": self.index, "k": 3}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": "what happens when the learning rate is too large", "after": 10.0, "before": 30.0}
