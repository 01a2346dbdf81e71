"""A polite crawler: one recursive stage, at most 2 requests per host, retries for a flaky
server, and every page accounted for.

It crawls three small sites served by in-process HTTP servers on the loopback interface (no
outside network). ``expand`` feeds the links found on each page back into the same stage, so
pages of every level are fetched at once (up to 6 requests) and the crawl ends by itself when
no page is left to fetch or being fetched. ``key=host, per_key=2`` keeps at most 2 requests
on each host, while the other hosts' pages go on; the server's "503 busy" answers are retried
with backoff, and pages that cannot be fetched (404) go to a :class:`Failures` record instead
of stopping the crawl.

Run it with ``python examples/crawler.py`` (asyncio) or
``python examples/crawler.py --backend trio``.
"""

from __future__ import annotations

import argparse
import random
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import anyio
from anyio.abc import Listener, SocketStream

from streamkit import Failures, Retry, expand, stream

# The sites: each page links to the pages listed. http://blog.test/missing does not exist;
# http://docs.test/busy answers "503 busy" to its first two requests.
SITES = {
    "docs.test": {
        "/": ["/install", "/api", "/busy", "http://blog.test/"],
        "/install": ["/", "/api"],
        "/api": ["/api/streams", "/api/operators", "http://shop.test/"],
        "/api/streams": ["/api"],
        "/api/operators": ["/api", "/api/streams"],
        "/busy": ["http://blog.test/2"],
    },
    "blog.test": {
        "/": ["/1", "/2", "/3", "/missing"],
        "/1": ["/", "http://docs.test/install"],
        "/2": ["/1", "/3"],
        "/3": ["/4"],
        "/4": ["/5"],
        "/5": ["http://shop.test/cart"],
    },
    "shop.test": {
        "/": ["/cart", "/items"],
        "/cart": ["/"],
        "/items": ["/items/1", "/items/2"],
        "/items/1": ["/items"],
        "/items/2": ["/items"],
    },
}
busy_answers_left = {("docs.test", "/busy"): 2}
running: Counter[str] = Counter()
"""Requests each server is answering right now."""
most_at_once: Counter[str] = Counter()
most_in_all = [0]


class ServerBusy(Exception):
    """The server answered 503: try again later."""


class NotFound(Exception):
    """The server answered 404."""


def serve_site(host: str) -> Callable[[SocketStream], Awaitable[None]]:
    async def serve(client: SocketStream) -> None:
        """A tiny HTTP/1.0 server: one request per connection."""
        async with client:
            path = (await client.receive()).decode().split()[1]
            running[host] += 1
            most_at_once[host] = max(most_at_once[host], running[host])
            most_in_all[0] = max(most_in_all[0], running.total())
            try:
                await anyio.sleep(0.01)  # some work
            finally:
                running[host] -= 1
            pages = SITES[host]
            if busy_answers_left.get((host, path), 0) > 0:
                busy_answers_left[host, path] -= 1
                status, body = "503 Service Unavailable", ""
            elif path in pages:
                links = "".join(f'<a href="{link}">{link}</a>\n' for link in pages[path])
                status, body = "200 OK", f"<h1>{path}</h1>\n{links}"
            else:
                status, body = "404 Not Found", ""
            await client.send(f"HTTP/1.0 {status}\r\n\r\n{body}".encode())

    return serve


def host_of(url: str) -> str:
    return urlsplit(url).netloc


class Crawler:
    """Fetches a page and returns the links on it not seen before (so each page is fetched
    once)."""

    def __init__(self, ports: dict[str, int]) -> None:
        self.ports = ports
        self.seen: set[str] = set()
        self.fetched = 0

    async def visit(self, url: str) -> list[str]:
        parts = urlsplit(url)
        port = self.ports[parts.netloc]
        async with await anyio.connect_tcp("127.0.0.1", port) as connection:
            await connection.send(f"GET {parts.path} HTTP/1.0\r\n\r\n".encode())
            chunks: list[bytes] = [chunk async for chunk in connection]
        head, _, body = b"".join(chunks).decode().partition("\r\n\r\n")
        status = head.split()[1]
        if status == "503":
            raise ServerBusy(url)
        if status == "404":
            raise NotFound(url)
        self.fetched += 1
        links = [
            f"http://{parts.netloc}{link}" if link.startswith("/") else link
            for link in re.findall(r'href="([^"]+)"', body)
        ]
        new = [link for link in dict.fromkeys(links) if link not in self.seen]
        self.seen.update(new)
        return new


async def crawl(ports: dict[str, int]) -> None:
    crawler = Crawler(ports)
    failures = Failures()
    start = "http://docs.test/"
    crawler.seen.add(start)
    pages = stream([start]).pipe(
        expand(
            crawler.visit,
            concurrency=6,
            key=host_of,
            per_key=2,
            retry=Retry(ServerBusy, attempts=4, backoff=0.05, random=random.Random(7).random),
            on_error=failures,
        )
    )
    async with pages.open() as crawled:
        found = [url async for url in crawled]
    statistics = crawled.statistics().stages[0]
    by_host = Counter(map(host_of, found))
    print(
        f"crawled {len(found)} pages: " + ", ".join(f"{h} {n}" for h, n in sorted(by_host.items()))
    )
    print(f"retries {statistics.retries}, failed {statistics.failed}")
    print(f"most requests at once on one host: {max(most_at_once.values())} (per_key=2)")
    print(f"most requests at once in all: {most_in_all[0]} (concurrency=6)")
    for failure in failures:
        print(f"could not fetch {failure.item}: {type(failure.error).__name__}")
    print(f"pages seen {len(crawler.seen)} = fetched {crawler.fetched} + failed {failures.count}")


async def run_server(
    listener: Listener[SocketStream], handler: Callable[[SocketStream], Awaitable[None]]
) -> None:
    async with listener:
        await listener.serve(handler)


async def main() -> None:
    async with anyio.create_task_group() as servers:
        ports: dict[str, int] = {}
        for host in SITES:
            listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
            ports[host] = listener.extra(anyio.abc.SocketAttribute.local_port)
            servers.start_soon(run_server, listener, serve_site(host))
        await crawl(ports)
        servers.cancel_scope.cancel()


def parse_backend() -> str:
    parser = argparse.ArgumentParser(description="streamkit crawler example")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    return str(parser.parse_args().backend)


if __name__ == "__main__":
    anyio.run(main, backend=parse_backend())
