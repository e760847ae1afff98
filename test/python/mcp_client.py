"""Runs a script of MCP operations with the official Python SDK client over Streamable HTTP and prints
one JSON line per operation: {"ok": result} or {"error": {"code", "message"}}. The interop tests run the
same script directly against a server and through the sidecar, and compare the lines.

usage: mcp_client.py URL [--token TOKEN] < script.json   (a JSON list of [method, params] pairs)"""
import argparse
import asyncio
import json
import sys

from mcp import ClientSession, McpError
from mcp.client.streamable_http import streamablehttp_client


async def run(url: str, token: str | None, script: list) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with streamablehttp_client(url, headers=headers) as (read, write, _):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            emit({"ok": {"serverInfo": init.serverInfo.name, "protocolVersion": init.protocolVersion}})
            for method, params in script:
                try:
                    if method == "tools/list":
                        result = await session.list_tools()
                    elif method == "tools/call":
                        result = await session.call_tool(params["name"], params.get("arguments", {}))
                    elif method == "resources/read":
                        result = await session.read_resource(params["uri"])
                    elif method == "resources/list":
                        result = await session.list_resources()
                    elif method == "resources/templates/list":
                        result = await session.list_resource_templates()
                    elif method == "prompts/list":
                        result = await session.list_prompts()
                    elif method == "prompts/get":
                        result = await session.get_prompt(params["name"], params.get("arguments", {}))
                    else:
                        raise ValueError(f"unsupported method {method}")
                    emit({"ok": result.model_dump(mode="json", by_alias=True, exclude_none=True)})
                except McpError as err:
                    emit({"error": {"code": err.error.code, "message": err.error.message}})


def emit(line: dict) -> None:
    sys.stdout.write(json.dumps(line, sort_keys=True) + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--token")
    args = parser.parse_args()
    asyncio.run(run(args.url, args.token, json.load(sys.stdin)))


if __name__ == "__main__":
    main()
