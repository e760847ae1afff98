"""What the tests read back from the server: every tool call that reached it (name, arguments, MCP
session, the Authorization header it carried, and the result or error it produced), served as JSON
at GET /_test/calls. POST /_test/reset empties the record and gives Kestra its initial state again;
POST /_test/kestra-fault makes Kestra fail (an error status, or unreachable) until it is cleared.
Neither route exists on the real server; the MCP endpoint is untouched by them. Each call is also
logged on stdout (one JSON line, the tool's name and argument keys), which is what a container's log
shows of the calls that reached the server."""
import json
import sys

from fastmcp.server.dependencies import get_http_headers
from fastmcp.server.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse


class CallRecorder(Middleware):
    def __init__(self) -> None:
        self.calls: list[dict] = []

    async def on_call_tool(self, context, call_next):
        headers = get_http_headers(include_all=True)
        call = {
            "tool": context.message.name,
            "arguments": context.message.arguments or {},
            "session": headers.get("mcp-session-id"),
            "authorization": headers.get("authorization"),
        }
        self.calls.append(call)
        print(json.dumps({"event": "tool_call", "tool": call["tool"], "argumentKeys": sorted(call["arguments"])}), file=sys.stdout, flush=True)
        try:
            result = await call_next(context)
        except Exception as err:
            call["error"] = str(err)
            raise
        call["result"] = {
            "content": [block.model_dump(mode="json", by_alias=True, exclude_none=True) for block in result.content],
            "structuredContent": result.structured_content,
        }
        return result


def add_test_routes(mcp, recorder: CallRecorder, kestra) -> None:
    @mcp.custom_route("/_test/calls", methods=["GET"])
    async def calls(_: Request) -> JSONResponse:
        return JSONResponse(recorder.calls)

    @mcp.custom_route("/_test/reset", methods=["POST"])
    async def reset(_: Request) -> JSONResponse:
        recorder.calls.clear()
        kestra.reset()
        return JSONResponse({"reset": True})

    @mcp.custom_route("/_test/kestra-fault", methods=["POST"])
    async def kestra_fault(request: Request) -> JSONResponse:
        """{"status": 503} makes Kestra answer that status, {"unreachable": true} makes it unreachable,
        {} ends the fault. State is kept: a failed call changes nothing."""
        fault = await request.json()
        if fault and not (isinstance(fault.get("status"), int) and 400 <= fault["status"] <= 599) and fault.get("unreachable") is not True:
            return JSONResponse({"error": "give {\"status\": 4xx|5xx}, {\"unreachable\": true} or {}"}, status_code=400)
        kestra.fault = fault or None
        return JSONResponse({"fault": kestra.fault})
