"""A polite crawler: a rate limit, retries for a flaky server, and every page accounted for.

It crawls a small site served by an in-process HTTP server on the loopback interface (no
outside network), level by level: each level is one pipeline over the links found on the
level before. Fetching uses at most 4 connections, starts at most 50 requests a second
(``rate_limit=(50, 1.0)``), retries the server's "503 busy" answers with backoff, and hands
pages that cannot be fetched (404) to a :class:`Failures` record instead of stopping.

Run it with ``python examples/crawler.py`` (asyncio) or
``python examples/crawler.py --backend trio``.
"""

from __future__ import annotations

import argparse
import random
import re

import anyio
from anyio.abc import SocketStream

from streamkit import Failures, Operator, Retry, map_, stream

# The site: each page links to the pages listed. /missing does not exist; /busy answers
# "503 busy" to its first two requests.
SITE = {
    "/": ["/docs", "/blog", "/about"],
    "/docs": ["/docs/install", "/docs/api", "/busy"],
    "/blog": ["/blog/1", "/blog/2", "/missing"],
    "/about": ["/"],
    "/docs/install": ["/docs"],
    "/docs/api": ["/docs", "/docs/install"],
    "/busy": ["/blog/2"],
    "/blog/1": ["/blog"],
    "/blog/2": ["/blog/1", "/docs/api"],
}
busy_answers_left = {"/busy": 2}


class ServerBusy(Exception):
    """The server answered 503: try again later."""


class NotFound(Exception):
    """The server answered 404."""


async def serve(client: SocketStream) -> None:
    """A tiny HTTP/1.0 server: one request per connection."""
    async with client:
        request = (await client.receive()).decode()
        path = request.split()[1]
        await anyio.sleep(0.01)  # some work
        if busy_answers_left.get(path, 0) > 0:
            busy_answers_left[path] -= 1
            status, body = "503 Service Unavailable", ""
        elif path in SITE:
            links = "".join(f'<a href="{link}">{link}</a>\n' for link in SITE[path])
            status, body = "200 OK", f"<h1>{path}</h1>\n{links}"
        else:
            status, body = "404 Not Found", ""
        await client.send(f"HTTP/1.0 {status}\r\n\r\n{body}".encode())


async def fetch(port: int, path: str) -> tuple[str, list[str]]:
    """GET ``path`` from the server; its links, or ServerBusy / NotFound."""
    async with await anyio.connect_tcp("127.0.0.1", port) as connection:
        await connection.send(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        chunks: list[bytes] = []
        async for chunk in connection:
            chunks.append(chunk)
    head, _, body = b"".join(chunks).decode().partition("\r\n\r\n")
    status = head.split()[1]
    if status == "503":
        raise ServerBusy(path)
    if status == "404":
        raise NotFound(path)
    return path, re.findall(r'href="([^"]+)"', body)


async def crawl(port: int) -> None:
    failures = Failures()
    # A lambda operator on its own has no stream to take its types from: name them (typing.rst).
    fetch_page: Operator[str, tuple[str, list[str]]] = map_(
        lambda path: fetch(port, path),
        concurrency=4,
        rate_limit=(50, 1.0),
        retry=Retry(ServerBusy, attempts=4, backoff=0.05, random=random.Random(7).random),
        on_error=failures,
    )
    seen = {"/"}
    frontier = ["/"]
    fetched = 0
    level = 0
    while frontier:
        async with stream(frontier).pipe(fetch_page).open() as pages:
            found = [page async for page in pages]
        statistics = pages.statistics()
        print(
            f"level {level}: fetched {len(found)} of {len(frontier)} "
            f"(retries {statistics.retries}, failed {statistics.failed})"
        )
        fetched += len(found)
        links = sorted({link for _, page_links in found for link in page_links} - seen)
        seen.update(links)
        frontier = links
        level += 1
    for failure in failures:
        print(f"could not fetch {failure.item}: {type(failure.error).__name__}")
    print(f"pages seen {len(seen)} = fetched {fetched} + failed {failures.count}")


async def main() -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as server:
        server.start_soon(listener.serve, serve)
        await crawl(port)
        server.cancel_scope.cancel()


def parse_backend() -> str:
    parser = argparse.ArgumentParser(description="streamkit crawler example")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    return str(parser.parse_args().backend)


if __name__ == "__main__":
    anyio.run(main, backend=parse_backend())
