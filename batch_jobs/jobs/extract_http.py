"""extract-http: page through a JSON API into the pipeline, resumable from its cursor.

Each page is a JSON document holding a list of items (`items_field`) and the cursor of the
next page (`next_field`): either a token sent back in the query parameter `cursor_param`,
or, without `cursor_param`, the next page's URL (relative ones are resolved). Each item
becomes one record, `orjson.dumps(item)`, routed by its type field like any other record;
an item that fails decoding or validation goes to the quarantine.

Item `i` of page `p` (pages counted from the first this state ever fetched) sits at
`Position(p, i)` in partition `state_name`. The state (batch_jobs/state.py) holds the
page number, the cursor that fetches it, and how many of its items are confirmed: a rerun
fetches that page again, skips the confirmed items and goes on, so it rewrites the same
S3 objects rather than adding new ones. This needs what any cursor needs: the same cursor
returns the same page, items possibly appended at its end.

The run ends when a page has no next cursor (or the same one again: caught up), after
`max_pages` pages, or at a page that fails. The state then stays on the last page, so the
next run fetches it once more and takes any items appended since: a finished extract is
also an incremental one. Only part 0 of `--part i/N` works (extract_common.takes_part).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from batch_jobs.jobs.extract_common import Checkpoint, ExtractError, read_secret, takes_part
from batch_jobs.jobs.http_pages import PageFetcher, TokenBucket, safe_url
from batch_jobs.runner import BatchPipeline, JobResult
from batch_jobs.state import DEFAULT_PREFIX, NAME_PATTERN, StateStore
from consumer.delivery.retry import RetryConfig
from consumer.errors import ConfigError
from consumer.flow import Position, Record


class ExtractHttpParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="the first page, http:// or https://")
    items_field: str = Field("items", description="dotted path of the page's list of items")
    next_field: str = Field("next", description="dotted path of the next cursor or URL")
    cursor_param: str | None = Field(None, description="query parameter the cursor goes in")
    auth_secret_id: str | None = Field(None, description="secret: header value, or JSON")
    auth_header: str = "Authorization"
    rate_per_s: float = Field(5.0, gt=0, description="requests per second, retries included")
    burst_requests: int = Field(1, ge=1)
    max_attempts: int = Field(5, ge=1, description="per page, the first included")
    backoff_base_s: float = Field(0.5, gt=0)
    backoff_max_s: float = Field(30.0, gt=0)
    max_retry_after_s: float = Field(300.0, ge=0, description="longest 429 wait honoured")
    timeout_s: float = Field(30.0, gt=0, description="per request: connect, each read")
    max_pages: int | None = Field(None, ge=1, description="pages fetched by this run")
    state_bucket: str = Field(min_length=3)
    state_prefix: str = DEFAULT_PREFIX
    state_name: str = Field(pattern=NAME_PATTERN)
    source: str = Field("extract-http", description="the source name records carry")

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc:
            raise ValueError("need an http:// or https:// URL")
        return value


def dotted(doc: Any, path: str) -> Any:
    """`doc["a"]["b"]` for "a.b" (digits index lists); None where the path ends early.
    An empty path is the document itself."""
    for part in path.split(".") if path else ():
        if isinstance(doc, dict):
            doc = doc.get(part)
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            return None
    return doc


def auth_headers(job: BatchPipeline, params: ExtractHttpParams) -> dict[str, str]:
    """The credential header from the secret: its whole text is the value, or it is JSON
    `{"header": ..., "value": ...}` naming both."""
    if params.auth_secret_id is None:
        return {}
    text = read_secret(job.aws, params.auth_secret_id)
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {params.auth_header: text.strip()}
    if isinstance(doc, dict):
        if not isinstance(doc.get("value"), str):
            raise ConfigError(f"secret {params.auth_secret_id!r}: JSON without a 'value'")
        return {str(doc.get("header") or params.auth_header): doc["value"]}
    return {params.auth_header: text.strip()}


def page_url(params: ExtractHttpParams, cursor: Any) -> str:
    """The URL fetching the page a cursor names; None is the first page."""
    if cursor is None:
        return params.url
    if params.cursor_param is None:
        return str(cursor)
    parts = urlsplit(params.url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != params.cursor_param]
    query.append((params.cursor_param, str(cursor)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def next_cursor(params: ExtractHttpParams, page: Any, current_url: str) -> Any:
    """The next page's cursor; None at the end (absent, null, "" or false). A next URL
    must stay on the first URL's scheme and host: the credential is sent nowhere else."""
    found = dotted(page, params.next_field)
    if found is None or found == "" or found is False:
        return None
    if params.cursor_param is not None:
        if not isinstance(found, str | int) or isinstance(found, bool):
            kind = type(found).__name__
            raise ExtractError(
                f"{safe_url(current_url)}: {params.next_field} is {kind}, not a cursor"
            )
        return found
    if not isinstance(found, str):
        kind = type(found).__name__
        raise ExtractError(f"{safe_url(current_url)}: {params.next_field} is {kind}, not a URL")
    target = urljoin(current_url, found)
    if urlsplit(target)[:2] != urlsplit(params.url)[:2]:
        raise ExtractError(f"next URL {safe_url(target)} leaves {safe_url(params.url)}")
    return target


def extract_http(
    job: BatchPipeline, s3: Any, params: ExtractHttpParams, part: tuple[int, int], result: JobResult
) -> None:
    if not takes_part("extract-http", part):
        return
    fetcher = PageFetcher(
        auth_headers(job, params),
        TokenBucket(params.rate_per_s, params.burst_requests),
        RetryConfig(
            max_attempts=params.max_attempts,
            base_delay_s=params.backoff_base_s,
            max_delay_s=params.backoff_max_s,
        ),
        params.timeout_s,
        params.max_retry_after_s,
    )
    store = StateStore(s3, params.state_bucket, params.state_prefix)
    fresh = {"page": 0, "cursor": None, "next_index": 0, "complete": False}
    checkpoint = Checkpoint(store, params.state_name, "extract-http", {"url": params.url}, fresh)
    job.progress.begin(None)  # pages: unknown until the last one says so
    while params.max_pages is None or result.inputs < params.max_pages:
        if not _one_page(job, params, fetcher, checkpoint, result):
            break


def _one_page(
    job: BatchPipeline,
    params: ExtractHttpParams,
    fetcher: PageFetcher,
    checkpoint: Checkpoint,
    result: JobResult,
) -> bool:
    """Fetch the checkpoint's page, feed its new items, commit; whether to go on."""
    at = checkpoint.fields
    number, cursor, start = int(at["page"]), at["cursor"], int(at["next_index"])
    url = page_url(params, cursor)
    result.inputs += 1
    try:
        page = fetcher.get_json(url)
        items = dotted(page, params.items_field)
        if not isinstance(items, list):
            kind = type(items).__name__
            raise ExtractError(f"{safe_url(url)}: {params.items_field!r} is {kind}, not a list")
        following = next_cursor(params, page, url)
    except ExtractError as exc:
        result.failed_inputs.append(f"page {number}: {exc}")
        return False
    last = following is None or following == cursor
    seen = max(start, len(items))
    done = {"page": number, "cursor": cursor, "next_index": seen, "complete": True}
    advance = {"page": number + 1, "cursor": following, "next_index": 0, "complete": False}
    after = done if last else advance

    def on_flush(position: Position) -> None:
        """After a cut the sinks confirmed: past the page's end, or inside it."""
        if position.sub + 1 == len(items):
            checkpoint.commit(after)
        else:
            checkpoint.commit({**at, "next_index": position.sub + 1, "complete": False})

    def records() -> Iterator[Record]:
        """Built lazily: each takes the arrival time of the latest commit."""
        for index in range(start, len(items)):
            yield Record(
                params.source,
                params.state_name,
                Position(number, index),
                f"{number}:{index}",
                checkpoint.arrival_time,
                orjson.dumps(items[index]),
            )

    job.feed(params.source, params.state_name, records(), on_flush, chunk=1)
    if checkpoint.fields != after:
        checkpoint.commit(after)  # nothing new on this page: only the cursor moves
    job.progress.add(inputs=1)
    return not last
