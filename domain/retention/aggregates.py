"""One pass of the reaper: what it removed from the registry under which policy, and
how many bytes each kind freed. Job logs and artifacts are recorded on their run
(``Run.LogReaped``, ``Run.ArtifactsReaped``), so a job's own history says where its log
went; images belong to no run, so their removal is recorded here."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate


class Reaping(Aggregate):
    TOPIC = "danube:Reaping"

    class Created(Aggregate.Created):
        TOPIC = "danube:Reaping.Created"

    class Started(Aggregate.Created):
        TOPIC = "danube:Reaping.Started"
        policy: dict[str, int]
        cause: dict[str, str]

    def __init__(self, policy: dict[str, int], cause: dict[str, str], **_: Any) -> None:
        self.policy, self.cause = dict(policy), dict(cause)
        self.images: list[str] = []
        self.freed: dict[str, int] | None = None

    @classmethod
    def start(cls, reaping_id: UUID, policy: dict[str, int], cause: dict[str, str]) -> Reaping:
        return cls._create(cls.Started, id=reaping_id, policy=dict(policy), cause=dict(cause))

    def image_deleted(
        self, repository: str, digest: str, tags: list[str], created: datetime, size: int
    ) -> bool:
        if f"{repository}@{digest}" in self.images:
            return False
        self.trigger_event(
            self.ImageDeleted,
            repository=repository,
            digest=digest,
            tags=sorted(tags),
            created=created,
            size=size,
        )
        return True

    def finish(self, freed: dict[str, int]) -> bool:
        if self.freed is not None:
            return False
        self.trigger_event(self.Finished, freed=dict(freed))
        return True

    class ImageDeleted(Aggregate.Event):
        TOPIC = "danube:Reaping.ImageDeleted"
        repository: str
        digest: str
        tags: list[str]
        created: datetime
        size: int

        def apply(self, reaping: Reaping) -> None:
            reaping.images.append(f"{self.repository}@{self.digest}")

    class Finished(Aggregate.Event):
        TOPIC = "danube:Reaping.Finished"
        freed: dict[str, int]  # bytes by kind: logs, artifacts, registry_images

        def apply(self, reaping: Reaping) -> None:
            reaping.freed = dict(self.freed)
