"""A FastMCP server for the interop tests: a few tools (one to hide), a resource and a prompt, served
over Streamable HTTP the way Kestra's server is run (`fastmcp run … --transport http`), with options
for JSON answers and stateless mode. Prints READY <port> once listening."""
import argparse
import asyncio
import socket

from fastmcp import Context, FastMCP

mcp = FastMCP("interop-fastmcp")


@mcp.tool
def echo(message: str) -> str:
    """Echoes the message."""
    return message


@mcp.tool
def add(a: int, b: int) -> dict:
    """Adds two integers."""
    return {"sum": a + b}


@mcp.tool
def delete_everything(confirm: bool = False) -> str:
    """A dangerous tool the policy hides."""
    return "deleted" if confirm else "not confirmed"


@mcp.tool
async def count_with_progress(steps: int, ctx: Context) -> str:
    """Reports progress for each step."""
    for i in range(steps):
        await ctx.report_progress(i + 1, steps)
        await ctx.info(f"step {i + 1}")
    return f"counted {steps}"


@mcp.resource("kestra://flows/{namespace}")
def flows(namespace: str) -> str:
    """Flows of a namespace."""
    return f'{{"namespace": "{namespace}", "flows": ["nightly-etl", "billing-sync"]}}'


@mcp.prompt
def summarise(topic: str) -> str:
    """Asks for a summary."""
    return f"Summarise {topic} in three sentences."


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--stateless", action="store_true")
    args = parser.parse_args()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    print(f"READY {sock.getsockname()[1]}", flush=True)
    asyncio.run(
        mcp.run_http_async(
            show_banner=False,
            transport="http",
            log_level="warning",
            json_response=args.json,
            stateless_http=args.stateless,
            sockets=[sock],
        )
    )


if __name__ == "__main__":
    main()
