"""A Kestra MCP server for tests: the 39 tool signatures of the Kestra Python MCP server (names,
argument names, types, defaults, enums, required; test/fixtures/kestra-tools-list.json), registered
on FastMCP so FastMCP derives the input and output schemas from them as it does for the real server,
in front of an in-memory Kestra (fake_kestra.py) instead of a Kestra API.

Served the way mcp-warden's injector serves the real one (its "kestra" profile), from this folder as
the image's working directory:
    fastmcp run src/server.py:mcp --transport http --host 127.0.0.1 --port 18000"""
from fastmcp import FastMCP

from fake_kestra import FakeKestra, raise_fault
from definitions import add_replaced_descriptions
from recorder import CallRecorder, add_test_routes
from tools import control, ee, executions, flows, generate, logs, storage
import resources


class KestraHolder:
    """Tools see the current instance through this, so a reset swaps the whole state at once. A fault
    set by a test (POST /_test/kestra-fault) makes every use of Kestra fail as the real server's httpx
    client fails when Kestra answers an error status or cannot be reached, so nothing changes."""

    def __init__(self) -> None:
        self.instance = FakeKestra()
        self.fault: dict | None = None

    def __getattr__(self, name: str):
        if self.fault is not None:
            raise_fault(self.fault)
        return getattr(self.instance, name)

    def reset(self) -> None:
        self.instance = FakeKestra()
        self.fault = None


mcp = FastMCP(
    "Kestra MCP",
    instructions="Help users interact with Kestra. Select the single most relevant tool for the question and invoke only that one.",
)
kestra = KestraHolder()
recorder = CallRecorder()
mcp.add_middleware(recorder)
add_test_routes(mcp, recorder, kestra)
add_replaced_descriptions(mcp)
for area in (control, ee, executions, storage, flows, generate, logs):
    area.register(mcp, kestra)
resources.register(mcp)
