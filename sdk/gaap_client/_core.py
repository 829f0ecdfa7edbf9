"""What every client shares.

Each API method is written once, as a function that describes its request (`Call`): method, path, query, body, and
how to read the answer. `operation` and `pages` make such a function a method of both the sync and the async
client, typed for each (`client.send_email(...)` returns the answer; `await async_client.send_email(...)` too). The
transports run a call with the same headers, retries and error mapping.

Retries: a call is retried (at most `RetryPolicy.attempts` times in all, with exponential backoff and full jitter)
on a connection failure or timeout, and on 502, 503 and 504, only when repeating it is safe: reads, and POSTs, which
always carry an `Idempotency-Key` (made once per call and reused by every attempt, so the platform does the work
once). 429 is always retried, after `Retry-After` when the platform gives one, unless that is longer than the
policy's longest wait. A 409 idempotency conflict answering a retry means the first attempt is still being
processed (the call's body is the same), so it is waited for and retried too; on a first attempt it means the key
was used for another request, which is the caller's to resolve.
"""

from __future__ import annotations

import asyncio
import platform
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, overload

import httpx

from gaap_client._version import __version__
from gaap_client.errors import APIError, TransportError, error_from_response

T = TypeVar("T")
P = ParamSpec("P")

USER_AGENT = f"gaap-client/{__version__} (python {platform.python_version()}; httpx {httpx.__version__})"
#: Safe to send twice by HTTP's own rules; POSTs are made safe by their Idempotency-Key.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
Params = Mapping[str, Any] | None


def read_json(response: httpx.Response) -> Any:
    return response.json()


def read_nothing(response: httpx.Response) -> None:
    return None


def read_bytes(response: httpx.Response) -> bytes:
    return response.content


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request, and how to read its answer."""

    method: str
    path: str
    read: Callable[[httpx.Response], T]
    params: Params = None
    json: Any = None
    #: POSTs only: the key every attempt carries. None: one is made for the call.
    idempotency_key: str | None = None
    #: Sent without the API key (Pay's `/v1/auth`, which its one-time token authenticates).
    anonymous: bool = False
    #: A form body (`application/x-www-form-urlencoded`), instead of JSON.
    form: Mapping[str, str] | None = None
    #: Extra headers (e.g. a bearer token the call carries instead of the API key).
    headers: Mapping[str, str] | None = None
    #: POSTs only. False for a POST that must never be repeated (an OAuth code exchange: a code works once, and
    #: a second use revokes what the first one issued): no Idempotency-Key, and no retry once it may have arrived.
    idempotent_post: bool = True


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing, and the call for the next page (None on the last)."""

    items: list[T]
    next: Call[Page[T]] | None


class Auth(Protocol):
    def headers(self) -> dict[str, str]:
        """Headers for one request (a Notify token is fresh for each)."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    backoff: float = 0.25
    max_backoff: float = 8.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before attempt `attempt + 1` (0-based `attempt`), or None to give up."""
        if attempt + 1 >= self.attempts:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_backoff else None
        return random.uniform(0, min(self.max_backoff, self.backoff * 2**attempt))


@dataclass(frozen=True)
class Send:
    """A step of `Transport.attempts`: send this request, and send back the response or the transport error."""

    call: Call[Any]
    headers: dict[str, str]


@dataclass(frozen=True)
class Sleep:
    """A step of `Transport.attempts`: wait this long, then continue."""

    seconds: float


Attempts = Generator[Send | Sleep, httpx.Response | httpx.TransportError | None, T]


@dataclass
class Transport:
    """Settings and the retry logic shared by the sync and async transports, which only do the I/O."""

    base_url: str
    auth: Auth
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 30.0
    user_agent: str = USER_AGENT

    def attempts(self, call: Call[T]) -> Attempts[T]:
        """The attempts at `call`, as steps for a transport to carry out; returns the answer or raises the error."""
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        idempotent = call.method in SAFE_METHODS
        if call.method == "POST" and call.idempotent_post:
            call = replace(call, idempotency_key=call.idempotency_key or str(uuid.uuid4()))
            headers["Idempotency-Key"] = call.idempotency_key or ""
            idempotent = True
        headers.update(call.headers or {})
        for attempt in range(self.retry.attempts):
            credentials = {} if call.anonymous else self.auth.headers()  # a fresh token on every attempt
            answer = yield Send(call, {**headers, **credentials})
            error: APIError | TransportError
            if isinstance(answer, httpx.Response):
                if answer.is_success:
                    return call.read(answer)
                error = error_from_response(answer, idempotent=idempotent)
            else:
                error = TransportError(str(answer), retry_safe=idempotent)
            wait = self.retry.delay(attempt, error.retry_after if isinstance(error, APIError) else None)
            if wait is None or not (_retryable(error, idempotent) or (attempt and _still_in_progress(error))):
                raise error
            yield Sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")


#: Idempotency conflicts: Notify's code, and Pay's.
IDEMPOTENCY_CONFLICTS = frozenset({"IdempotencyConflict", "P0191"})


def _still_in_progress(error: APIError | TransportError) -> bool:
    return isinstance(error, APIError) and error.status_code == 409 and error.code in IDEMPOTENCY_CONFLICTS


def _retryable(error: APIError | TransportError, idempotent: bool) -> bool:
    if isinstance(error, TransportError):
        return idempotent
    return error.status_code == 429 or (error.status_code in RETRY_STATUSES and idempotent)


class SyncTransport(Transport):
    """Runs calls on one `httpx.Client` (safe to share between threads)."""

    def __init__(self, base_url: str, auth: Auth, **options: Any) -> None:
        super().__init__(base_url.rstrip("/"), auth, **options)
        self.http = httpx.Client(base_url=self.base_url, timeout=self.timeout)

    def send(self, call: Call[T]) -> T:
        steps = self.attempts(call)
        answer: httpx.Response | httpx.TransportError | None = None
        try:
            while True:
                step = steps.send(answer)
                if isinstance(step, Sleep):
                    time.sleep(step.seconds)
                    answer = None
                    continue
                try:
                    answer = self.http.request(
                        step.call.method, step.call.path, params=step.call.params, json=step.call.json,
                        data=step.call.form, headers=step.headers,
                    )  # fmt: skip
                except httpx.TransportError as exc:
                    answer = exc
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def close(self) -> None:
        self.http.close()


class AsyncTransport(Transport):
    """Runs calls on one `httpx.AsyncClient`."""

    def __init__(self, base_url: str, auth: Auth, **options: Any) -> None:
        super().__init__(base_url.rstrip("/"), auth, **options)
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout)

    async def send(self, call: Call[T]) -> T:
        steps = self.attempts(call)
        answer: httpx.Response | httpx.TransportError | None = None
        try:
            while True:
                step = steps.send(answer)
                if isinstance(step, Sleep):
                    await asyncio.sleep(step.seconds)
                    answer = None
                    continue
                try:
                    answer = await self.http.request(
                        step.call.method, step.call.path, params=step.call.params, json=step.call.json,
                        data=step.call.form, headers=step.headers,
                    )  # fmt: skip
                except httpx.TransportError as exc:
                    answer = exc
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        await self.http.aclose()


class SyncClient:
    """Base of the sync clients: a transport, and use as a context manager."""

    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def close(self) -> None:
        self._transport.close()

    def __enter__(self: S) -> S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient:
    """Base of the async clients."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self: A) -> A:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


S = TypeVar("S", bound=SyncClient)
A = TypeVar("A", bound=AsyncClient)


class pages(Generic[P, T]):
    """A listing method of both clients: an iterator (sync) or an async iterator over every item, fetching each page
    only when the items before it have been used."""

    def __init__(self, build: Callable[P, Call[Page[T]]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> pages[P, T]: ...
    @overload
    def __get__(self, obj: SyncClient, owner: type[Any] | None = None) -> Callable[P, Iterator[T]]: ...
    @overload
    def __get__(self, obj: AsyncClient, owner: type[Any] | None = None) -> Callable[P, AsyncIterator[T]]: ...

    def __get__(self, obj: object, owner: type[Any] | None = None) -> Any:
        if obj is None:
            return self
        build = self.build
        if isinstance(obj, AsyncClient):
            transport = obj._transport

            async def iterate_async(*args: P.args, **kwargs: P.kwargs) -> AsyncIterator[T]:
                call: Call[Page[T]] | None = build(*args, **kwargs)
                while call is not None:
                    page = await transport.send(call)
                    for item in page.items:
                        yield item
                    call = page.next

            return iterate_async
        assert isinstance(obj, SyncClient)
        sync = obj._transport

        def iterate(*args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
            call: Call[Page[T]] | None = build(*args, **kwargs)
            while call is not None:
                page = sync.send(call)
                yield from page.items
                call = page.next

        return iterate


class flow(Generic[P, T]):
    """A method of both clients made of several calls: `build(client, ...)` is a generator that yields each `Call`
    and receives its answer, and returns the method's result. Written once, run by either transport."""

    def __init__(self, build: Callable[Concatenate[Any, P], Generator[Call[Any], Any, T]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> flow[P, T]: ...
    @overload
    def __get__(self, obj: SyncClient, owner: type[Any] | None = None) -> Callable[P, T]: ...
    @overload
    def __get__(self, obj: AsyncClient, owner: type[Any] | None = None) -> Callable[P, Coroutine[Any, Any, T]]: ...

    def __get__(self, obj: object, owner: type[Any] | None = None) -> Any:
        if obj is None:
            return self
        build = self.build
        if isinstance(obj, AsyncClient):
            transport = obj._transport

            async def run_async(*args: P.args, **kwargs: P.kwargs) -> T:
                steps = build(obj, *args, **kwargs)
                answer: Any = None
                try:
                    while True:
                        answer = await transport.send(steps.send(answer))
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]

            run_async.__doc__ = build.__doc__
            return run_async
        assert isinstance(obj, SyncClient)
        sync = obj._transport

        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            steps = build(obj, *args, **kwargs)
            answer: Any = None
            try:
                while True:
                    answer = sync.send(steps.send(answer))
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]

        run.__doc__ = build.__doc__
        return run


def _one_call(build: Callable[P, Call[T]]) -> Callable[Concatenate[Any, P], Generator[Call[Any], Any, T]]:
    def steps(_client: Any, /, *args: P.args, **kwargs: P.kwargs) -> Generator[Call[Any], Any, T]:
        answer: T = yield build(*args, **kwargs)
        return answer

    return steps


class operation(flow[P, T]):
    """A method of both clients from one function describing its one call."""

    def __init__(self, build: Callable[P, Call[T]]) -> None:
        super().__init__(_one_call(build))
        self.__doc__ = build.__doc__
