"""Topics typed freely by people, normalised so 'Public Speaking ' and 'public speaking' are one."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.database import insert_or_ignore
from bot.core.models import Topic

MAX_TOPICS = 10
MAX_TOPIC_LENGTH = 50
_SEPARATORS = re.compile(r"[,;\n\u2022]+")
_DROP = re.compile(r"[^\w\s+#.-]")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class TopicName:
    slug: str
    name: str


class TopicListError(ValueError):
    """A topic list someone typed that we cannot use; the message is written for them."""


def parse_topics(raw: str | None) -> list[TopicName]:
    """Split a typed list on commas, semicolons or new lines; normalise and de-duplicate it."""
    found: dict[str, TopicName] = {}
    for piece in _SEPARATORS.split(raw or ""):
        name = _SPACES.sub(" ", _DROP.sub(" ", piece)).strip(" .-")
        if not name:
            continue
        if len(name) > MAX_TOPIC_LENGTH:
            raise TopicListError(
                f"“{name[:20]}…” is long for a topic. Keep each under {MAX_TOPIC_LENGTH} "
                "characters and separate topics with commas."
            )
        found.setdefault(name.casefold(), TopicName(slug=name.casefold(), name=name))
    if len(found) > MAX_TOPICS:
        raise TopicListError(f"Pick up to {MAX_TOPICS} topics; you listed {len(found)}.")
    return list(found.values())


def resolve_topics(session: Session, workspace_id: int, names: list[TopicName]) -> list[Topic]:
    """The Topic rows for these names, created on first use, in the order given."""
    for topic in names:
        insert_or_ignore(
            session, Topic, workspace_id=workspace_id, slug=topic.slug, name=topic.name
        )
    slugs = [topic.slug for topic in names]
    rows = session.scalars(
        select(Topic).where(Topic.workspace_id == workspace_id, Topic.slug.in_(slugs))
    ).all()
    by_slug = {row.slug: row for row in rows}
    return [by_slug[slug] for slug in slugs]
