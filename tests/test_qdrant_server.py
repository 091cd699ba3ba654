"""The Qdrant server backend: ``[qdrant]`` settings reach collection creation, tenants sharing collections
never see each other, transient errors are retried, and several writers share one video's two-phase commit
(what the Ray engine's actors do against a server). Run against qdrant-client's local mode (no server binary
installs here); a recording subclass of the real client shows what a server would have been asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from qdrant_client import QdrantClient
from qdrant_client.http.exceptions import UnexpectedResponse

from vrag.config import QdrantConfig, load_settings
from vrag.errors import ConfigError
from vrag.store import SegmentRecord, StoreError, StoreSchema, VideoRecord, open_store, segment_point_id

SCHEMA = StoreSchema(dense={"clip": (2, "cosine")}, sparse_text=True, fingerprint="fp")


class Recording(QdrantClient):
    """The real local-mode client, remembering the collection and payload-index requests it got and failing
    the first ``fail`` count requests with ``error``."""

    def __init__(self, fail: int = 0, error: Exception | None = None) -> None:
        super().__init__(location=":memory:")
        self.created: dict[str, dict[str, Any]] = {}
        self.indexes: dict[str, dict[str, Any]] = {}
        self.fail, self.error, self.counts = fail, error, 0

    def create_collection(self, collection_name: str, **kwargs: Any) -> bool:
        self.created[collection_name] = kwargs
        return super().create_collection(collection_name, **kwargs)

    def create_payload_index(
        self, collection_name: str, field_name: str, field_schema: Any = None, **kw: Any
    ) -> Any:
        self.indexes.setdefault(collection_name, {})[field_name] = field_schema
        return super().create_payload_index(collection_name, field_name, field_schema, **kw)

    def count(self, *args: Any, **kwargs: Any) -> Any:
        self.counts += 1
        if self.fail > 0:
            self.fail -= 1
            assert self.error is not None
            raise self.error
        return super().count(*args, **kwargs)


def _write(store: Any, video: str, *, start: float = 0.0, text: str = "a cat") -> None:
    store.begin_video(video)
    store.add_segments(
        [SegmentRecord(video, f"{video}.mp4", start, start + 2, {"clip": [1.0, 0.0]}, text=text)]
    )
    store.commit_video(VideoRecord(video, f"{video}.mp4", 4.0))


def test_qdrant_table_is_read_and_checked(tmp_path: Path) -> None:
    toml = tmp_path / "vrag.toml"
    toml.write_text('[qdrant]\nurl = "http://qdrant:6333"\nshard_number = 6\nreplication_factor = 2\n'
                    'api_key_env = "MY_QDRANT_KEY"\ntenant_field = "team"\n')  # fmt: skip
    settings = load_settings(toml)
    assert settings.qdrant.url == "http://qdrant:6333" and settings.qdrant.shard_number == 6
    assert settings.qdrant.replication_factor == 2 and settings.qdrant.tenant_field == "team"
    toml.write_text("[qdrant]\nshards = 6\n")
    with pytest.raises(ConfigError, match=r"\[qdrant\].*shards"):
        load_settings(toml)
    toml.write_text("[qdrant]\nreplication_factor = 0\n")
    with pytest.raises(ConfigError, match=r"\[qdrant\].*replication_factor"):
        load_settings(toml)


def test_collections_are_created_with_the_cluster_settings() -> None:
    client = Recording()
    qdrant = QdrantConfig(
        shard_number=6, replication_factor=2, write_consistency_factor=2, on_disk_vectors=True,
        on_disk_payload=True, tenant_field="team", tenant="blue", prefix="lectures",
    )  # fmt: skip
    with open_store(client=client, schema=SCHEMA, qdrant=qdrant):
        pass
    assert sorted(client.created) == ["lectures_segments", "lectures_videos"]
    for kwargs in client.created.values():
        assert kwargs["shard_number"] == 6 and kwargs["replication_factor"] == 2
        assert kwargs["write_consistency_factor"] == 2 and kwargs["on_disk_payload"] is True
    assert client.created["lectures_segments"]["vectors_config"]["clip"].on_disk is True
    for indexes in client.indexes.values():
        assert indexes["team"].is_tenant is True  # Qdrant stores each tenant's points together


def test_tenants_share_collections_but_never_each_others_points() -> None:
    client = Recording()
    blue = open_store(client=client, schema=SCHEMA, qdrant=QdrantConfig(tenant_field="team", tenant="blue"))
    red = open_store(client=client, schema=SCHEMA, qdrant=QdrantConfig(tenant_field="team", tenant="red"))
    _write(blue, "v1", text="a blue cat")
    _write(red, "v1", text="a red cat")  # the same video (same point ids) in both tenants
    assert blue.count_segments() == red.count_segments() == 1
    assert [h.text for h in blue.search_fused({"clip": [1.0, 0.0], "bm25": "cat"}, k=5)] == ["a blue cat"]
    blue.delete_video("v1")
    assert blue.count_segments() == 0 and blue.count_videos() == 0
    assert red.count_videos() == 1 and [s.text for s in red.iter_segments()] == ["a red cat"]
    assert [s.id for s in red.iter_segments()] == [segment_point_id("v1", 0.0, 2.0, "fp")]  # ids as usual


def test_check_and_repair_of_one_tenant_touch_its_points_only() -> None:
    from qdrant_client import models

    client = Recording()
    blue = open_store(client=client, schema=SCHEMA, qdrant=QdrantConfig(tenant_field="team", tenant="blue"))
    red = open_store(client=client, schema=SCHEMA, qdrant=QdrantConfig(tenant_field="team", tenant="red"))
    _write(blue, "v1")
    _write(red, "v1")
    (videos,) = [name for name in client.created if "video" in name]
    team = models.FieldCondition(key="team", match=models.MatchValue(value="blue"))
    client.delete(videos, points_selector=models.FilterSelector(filter=models.Filter(must=[team])))
    report = blue.check()  # blue's ledger lost: its segment belongs to no committed video
    assert [(p.kind, p.videos) for p in report.problems] == [("orphan-segments", ("v1.mp4",))]
    repaired = blue.check(repair=True)
    deleted = "deleted 1 points (1 segments of no committed video) from the segments collection"
    assert repaired.ok and repaired.repaired == (deleted,)
    assert repaired.reindex == ("v1.mp4",) and blue.count_segments() == 0
    assert red.check().ok and red.count_segments() == 1  # the other tenant's same ids untouched


def test_transient_errors_are_retried_and_others_are_not() -> None:
    busy = UnexpectedResponse(503, "Service Unavailable", b"", httpx.Headers())
    client = Recording(fail=2, error=busy)
    store = open_store(client=client, schema=SCHEMA, qdrant=QdrantConfig(retries=3))
    assert store.count_segments() == 0 and client.counts == 3  # two failures, then the answer
    client.fail, client.error, client.counts = 5, busy, 0
    with pytest.raises(StoreError, match="503"):
        store.count_segments()
    assert client.counts == 3  # gave up after `retries` attempts
    client.fail, client.counts = 1, 0
    client.error = UnexpectedResponse(400, "Bad Request", b"wrong filter", httpx.Headers())
    with pytest.raises(StoreError, match="400"):
        store.count_segments()
    assert client.counts == 1  # a request error is not retried


def test_parallel_writers_share_one_videos_commit() -> None:
    """Actors write a video's segments under the run's token; the driver begins it with the same token (the
    actors' pending segments stay) and commits; a crashed earlier run's pending segments go."""
    client = QdrantClient(location=":memory:")
    driver, actor_a, actor_b = (open_store(client=client, schema=SCHEMA) for _ in range(3))
    crashed = open_store(client=client, schema=SCHEMA)
    crashed.begin_video("v")
    crashed.add_segments([SegmentRecord("v", "v.mp4", 9.0, 10.0, {"clip": [0.0, 1.0]})])  # then died
    for actor, start in ((actor_a, 0.0), (actor_b, 2.0)):
        actor.begin_video("v", generation="run-2")
        actor.add_segments([SegmentRecord("v", "v.mp4", start, start + 2, {"clip": [1.0, 0.0]})])
    assert driver.count_segments() == 0  # nothing visible before the commit
    driver.begin_video("v", generation="run-2")
    driver.commit_video(VideoRecord("v", "v.mp4", 4.0))
    assert [(s.start, s.end) for s in driver.iter_segments("v")] == [(0.0, 2.0), (2.0, 4.0)]
    assert driver.purge_pending() == 0
