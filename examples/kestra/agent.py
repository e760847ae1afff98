"""A minimal Kestra agent, to see what agents see through mcp-warden. It uses the official MCP Python
SDK and authenticates with its pod's service-account token, minted for the audience mcp-warden."""
import asyncio
import os

from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

URL = os.environ.get("KESTRA_MCP_URL", "http://kestra-mcp.agents:8000/mcp")
TOKEN_FILE = os.environ.get("KESTRA_MCP_TOKEN_FILE", "/var/run/secrets/mcp-warden/token")
FLOW = {"namespace": "company.team", "flow_id": "nightly-etl"}


def show(label: str, result) -> None:
    decision = (result.meta or {}).get("mcpwarden.io/decision")
    text = result.content[0].text
    print(f"{label}: {text if decision else text[:72] + '…'}")
    if decision:
        print(f"  {decision}")


async def main() -> None:
    with open(TOKEN_FILE) as file:  # the kubelet renews it: read it for each connection
        token = file.read().strip()
    async with streamablehttp_client(URL, headers={"Authorization": f"Bearer {token}"}) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            print(f"{len((await session.list_tools()).tools)} tools listed")
            show("list_namespaces", await session.call_tool("list_namespaces", {}))
            show("manage_kv_store delete", await session.call_tool("manage_kv_store", {"namespace": "company.team", "action": "delete", "key": "db_password"}))
            show("restart_execution without an id", await session.call_tool("restart_execution", FLOW))
            show('generate_flow, auto_create "true"', await session.call_tool("generate_flow", {"user_prompt": "Copy orders hourly", "auto_create": "true"}))
            for _ in range(11):
                result = await session.call_tool("execute_flow", FLOW)
            show("execute_flow, 11th call in a minute", result)


if __name__ == "__main__":
    asyncio.run(main())
