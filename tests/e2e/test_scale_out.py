"""Three server processes on one real Redis, with the official Node client and
hubgen's Python client spread across them: every addressing mode reaches
exactly the right connections, exactly once; groups joined on one process
are sent to from another; a user with connections on two processes; a client
result answered on another process; sends from outside a hub; a killed
process's connections leave its groups; and a Redis restart in the middle of
a broadcast run stops nothing for good."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hubgen.client import HubConnection
from tests.apps.echo.generated.echo_hub_client import EchoHubClient
from tests.support.node import NODE_DIR, ensure_node_modules
from tests.support.process import ServerProcess, serve_process
from tests.support.redis import RedisServer

pytestmark = [pytest.mark.timeout(120), pytest.mark.node]

SCRIPT = NODE_DIR / "interop" / "scale-out-client.mjs"


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@contextlib.asynccontextmanager
async def cluster(redis_url: str, count: int = 3) -> AsyncIterator[list[ServerProcess]]:
    async with contextlib.AsyncExitStack() as stack:
        servers = await asyncio.gather(
            *(
                stack.enter_async_context(serve_process(env={"ECHO_REDIS_URL": redis_url}))
                for _ in range(count)
            )
        )
        yield list(servers)
        for server in servers:
            assert server.process.poll() is None, "a server process died"


class PythonClient:
    """hubgen's client, connected as ``user`` to one process."""

    def __init__(self, url: str, user: str) -> None:
        self.connection = HubConnection(f"{url}/echo", access_token=user)
        self.echo = EchoHubClient(self.connection)
        self.inbox: asyncio.Queue[str] = asyncio.Queue()

        async def message(text: str) -> None:
            self.inbox.put_nowait(text)

        async def ask(question: str) -> int:
            return len(question)

        self.echo.on_message(message)
        self.echo.on_ask(ask)

    @property
    def id(self) -> str:
        assert self.connection.connection_id is not None
        return self.connection.connection_id

    async def receives(self, *texts: str) -> None:
        """Exactly ``texts``, in order, and then nothing for a moment."""
        got = [await asyncio.wait_for(self.inbox.get(), 5) for _ in texts]
        assert got == list(texts)
        await asyncio.sleep(0.2)
        assert self.inbox.empty(), f"more than once: {self.inbox.get_nowait()!r}"


class NodeClient:
    """The official client, in a Node process, connected as ``user``."""

    def __init__(self, process: asyncio.subprocess.Process, connection_id: str) -> None:
        self.process = process
        self.id = connection_id
        self.messages: list[str] = []

    @classmethod
    async def open(cls, url: str, user: str, transport: str, protocol: str) -> NodeClient:
        ensure_node_modules()
        node = shutil.which("node")
        assert node is not None, "Node.js is required"
        process = await asyncio.create_subprocess_exec(
            node,
            str(SCRIPT),
            f"{url}/echo",
            user,
            transport,
            protocol,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        first = json.loads(await asyncio.wait_for(process.stdout.readline(), 20))
        return cls(process, first["id"])

    async def _event(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        event: dict[str, Any] = json.loads(
            await asyncio.wait_for(self.process.stdout.readline(), 5)
        )
        return event

    async def invoke(self, target: str, *args: Any) -> Any:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"invoke": target, "args": args}).encode() + b"\n")
        while "message" in (event := await self._event()):
            self.messages.append(event["message"])
        assert "error" not in event, event
        return event["result"]

    async def receives(self, *texts: str) -> None:
        while len(self.messages) < len(texts):
            event = await self._event()
            self.messages.append(event["message"])
        got, self.messages = self.messages[: len(texts)], self.messages[len(texts) :]
        assert got == list(texts)
        with contextlib.suppress(TimeoutError):
            assert self.process.stdout is not None
            line = await asyncio.wait_for(self.process.stdout.readline(), 0.2)
            raise AssertionError(f"more than once: {line!r}")

    async def close(self) -> None:
        assert self.process.stdin is not None
        with contextlib.suppress(ConnectionError):
            self.process.stdin.write(b"stop\n")
            await self.process.stdin.drain()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError("the Node client did not stop") from None


@pytest.mark.parametrize(
    ("transport", "protocol"),
    [("WebSockets", "messagepack"), ("ServerSentEvents", "json"), ("LongPolling", "json")],
)
async def test_every_addressing_mode_across_three_processes(
    redis_server: RedisServer, transport: str, protocol: str
) -> None:
    async with cluster(redis_server.url) as (p1, p2, p3):
        ann1 = PythonClient(p1.url, "ann")
        bob = PythonClient(p2.url, "bob")
        ann3 = PythonClient(p3.url, "ann")
        for client in (ann1, bob, ann3):
            await client.connection.start()
        nina = await NodeClient.open(p2.url, "nina", transport, protocol)
        everyone: tuple[PythonClient | NodeClient, ...] = (ann1, bob, ann3, nina)
        try:
            # all, from each process
            await bob.echo.broadcast("all from p2")
            for anyone in everyone:
                await anyone.receives("all from p2")
            # all but the caller (all_except)
            await nina.invoke("SendOthers", "others")
            for client in (ann1, bob, ann3):
                await client.receives("others")
            # one connection on another process, and the official client's
            await ann1.echo.send_to(ann3.id, "to ann3")
            await ann3.receives("to ann3")
            await ann3.echo.send_to(nina.id, "to nina")
            await nina.receives("to nina")
            # a group joined on p1 and p3, sent to from p2
            await ann1.echo.join("room")
            await nina.invoke("Join", "room")
            await ann3.echo.join("room")
            await bob.echo.send_group("room", "to the room")
            for member in (ann1, nina, ann3):
                await member.receives("to the room")
            # others in the group
            await ann3.echo.send_others_in_group("room", "the others")
            for member in (ann1, nina):
                await member.receives("the others")
            # a connection added on one process to a group, by another
            await bob.echo.add_to_group(ann3.id, "vip")
            await nina.invoke("SendGroup", "vip", "vip only")
            await ann3.receives("vip only")
            # a user with connections on two processes
            await nina.invoke("SendUser", "ann", "to ann")
            await ann1.receives("to ann")
            await ann3.receives("to ann")
            # a client result answered on another process, by either client
            assert await ann1.echo.ask_client(ann3.id, "seven") == 5
            assert await bob.echo.ask_client(nina.id, "?") == 42
            # sends from outside a hub method (HubRoute.clients), on p3
            async with httpx.AsyncClient() as http:
                announced = await http.post(f"{p3.url}/announce", params={"text": "announce"})
                assert announced.text == "sent"
            for anyone in everyone:
                await anyone.receives("announce")
            await bob.echo.send_group("nobody's group", "to no one")
            for anyone in everyone:
                await anyone.receives()
        finally:
            for python_client in (ann1, bob, ann3):
                await python_client.connection.stop()
            await nina.close()


async def test_a_killed_process_leaves_no_member_behind(redis_server: RedisServer) -> None:
    """Its connections reconnect elsewhere and join again: a group send reaches
    each once, through its new connection only."""
    async with cluster(redis_server.url) as (p1, p2, p3):
        sender = PythonClient(p1.url, "sam")
        doomed = PythonClient(p3.url, "dan")
        await sender.connection.start()
        await doomed.connection.start()
        await doomed.echo.join("room")
        await sender.echo.send_group("room", "before")
        await doomed.receives("before")
        p3.process.kill()
        p3.process.wait()
        back = PythonClient(p2.url, "dan")  # the client comes back elsewhere
        await back.connection.start()
        await back.echo.join("room")
        await sender.echo.send_group("room", "after")
        await back.receives("after")
        await sender.echo.send_user("dan", "to dan")
        await back.receives("to dan")
        for python_client in (sender, back, doomed):
            with contextlib.suppress(Exception):
                await python_client.connection.stop()
        p3.process = p1.process  # (the cluster checks that the others live)


async def test_a_redis_restart_in_a_broadcast_run(redis_server: RedisServer) -> None:
    """Broadcasts every 20 ms from p1 while Redis goes away and comes back:
    no process fails, p1's own clients get every one, and p2's clients get
    them again within seconds of Redis's return."""
    async with cluster(redis_server.url, 2) as (p1, p2):
        sender, local, remote = (
            PythonClient(p1.url, "s"),
            PythonClient(p1.url, "l"),
            PythonClient(p2.url, "r"),
        )
        for client in (sender, local, remote):
            await client.connection.start()
        sent: list[str] = []

        async def run(count: int) -> None:
            for n in range(count):
                text = f"{len(sent)}-{n}"
                sent.append(text)
                await sender.echo.broadcast(text)
                await asyncio.sleep(0.02)

        await run(20)
        redis_server.stop()
        await run(50)  # about a second without Redis
        redis_server.start()
        deadline = asyncio.get_running_loop().time() + 15
        received_after: set[str] = set()
        while asyncio.get_running_loop().time() < deadline:
            await run(1)
            while not remote.inbox.empty():
                received_after.add(remote.inbox.get_nowait())
            if sent[-1] in received_after:
                break
        assert sent[-1] in received_after, "delivery across processes did not resume"
        # the sender's own process delivered every broadcast, Redis or not
        local_got = [local.inbox.get_nowait() for _ in range(local.inbox.qsize())]
        assert local_got == sent
        for client in (sender, local, remote):
            await client.connection.stop()


def test_the_node_client_script_is_there() -> None:
    assert Path(SCRIPT).is_file()
