"""Quick reads for digest tests, built through the real validator."""

from __future__ import annotations

from typing import Any

from service.article import Article
from service.validation import validate_article


def quick_read(article_id: str, published_at: str, **fields: Any) -> Article:
    return validate_article(quick_read_json(article_id, published_at, **fields))


def quick_read_json(article_id: str, published_at: str, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": article_id,
        "kind": "quick-read",
        "headline": f"Headline of {article_id}",
        "standfirst": f"Standfirst of {article_id}.",
        "published_at": published_at,
        "body": [{"type": "paragraph", "text": f"The first paragraph of {article_id}."}],
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}
