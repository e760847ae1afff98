"""Stacks (b) and (c) of the differential suite: the same tools as stacks/ts-express-server.ts on the
Python MCP SDK's FastMCP (`--stack mcp`, mcp.server.fastmcp) or on FastMCP 3 (`--stack fastmcp`),
served over stateful Streamable HTTP. Each tool execution appends one JSON line (tool name and the
arguments exactly as pydantic parsed them, integers exact) to the record file.

    python python_server.py --stack mcp|fastmcp --record FILE [--answer-padding N] [--json-response] [--action-wait-ms N]   → prints READY <port>"""
import argparse
import asyncio
import json
import socket

import uvicorn

# How long resume_execution waits for the action it started (catalogue.ts: ACTION_WAIT_MS), unless
# --action-wait-ms says otherwise.
ACTION_WAIT_S = 0.1


def recorder(path: str):
    def record(tool: str, arguments: dict) -> str:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"tool": tool, "arguments": arguments}) + "\n")
        return f"{tool} ran"
    return record


def register(mcp, record, padding: int = 0) -> None:
    @mcp.tool()
    def list_executions(namespace: str) -> str:
        return record("list_executions", {"namespace": namespace})

    @mcp.tool()
    async def resume_execution(execution_id: str) -> str:
        # Like a real action tool (Kestra's): the action is started, then its completion awaited.
        done = record("resume_execution", {"execution_id": execution_id}) + " " * padding
        await asyncio.sleep(ACTION_WAIT_S)
        return done

    @mcp.tool()
    def delete_execution(execution_id: str) -> str:
        return record("delete_execution", {"execution_id": execution_id})

    @mcp.tool()
    def force_run_execution(execution_id: str) -> str:
        return record("force_run_execution", {"execution_id": execution_id})

    @mcp.tool()
    def create_flow(namespace: str, auto_create: bool) -> str:
        return record("create_flow", {"namespace": namespace, "auto_create": auto_create})

    @mcp.tool()
    def kill_executions(execution_ids: list[str]) -> str:
        return record("kill_executions", {"execution_ids": execution_ids})

    @mcp.tool()
    def schedule_runs(count: int) -> str:
        return record("schedule_runs", {"count": count})

    @mcp.tool()
    def import_flow(source: str) -> str:
        return record("import_flow", {"source": source})


def app_of(stack: str, record, padding: int, json_response: bool):
    if stack == "mcp":
        from mcp.server.fastmcp import FastMCP

        mcp = FastMCP("differential-python-sdk", log_level="WARNING", json_response=json_response)
        register(mcp, record, padding)
        return mcp.streamable_http_app()
    from fastmcp import FastMCP

    mcp = FastMCP("differential-fastmcp3")
    register(mcp, record, padding)
    return mcp.http_app(transport="http", json_response=json_response)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", choices=["mcp", "fastmcp"], required=True)
    parser.add_argument("--record", required=True)
    # resume_execution's answer grows by this many characters (a tool whose output is large).
    parser.add_argument("--answer-padding", type=int, default=0)
    # Answer POSTs with one JSON body, sent when the answer is ready, instead of an SSE stream.
    parser.add_argument("--json-response", action="store_true")
    parser.add_argument("--action-wait-ms", type=int, default=None)
    args = parser.parse_args()
    if args.action_wait_ms is not None:
        global ACTION_WAIT_S
        ACTION_WAIT_S = args.action_wait_ms / 1000
    app = app_of(args.stack, recorder(args.record), args.answer_padding, args.json_response)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    print(f"READY {sock.getsockname()[1]}", flush=True)
    asyncio.run(server.serve(sockets=[sock]))


if __name__ == "__main__":
    main()
