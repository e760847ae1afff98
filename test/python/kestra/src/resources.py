"""Resources of the Kestra test server (the real server has none): a static resource and a template,
so policies on resources can be proven on FastMCP. Each read that reaches the server is logged on
stdout as one JSON line ({"event": "resource_read", "uri": ...}): what the tests judge by."""
import json
import sys

from fastmcp import FastMCP


def _logged(uri: str) -> None:
    print(json.dumps({"event": "resource_read", "uri": uri}), file=sys.stdout, flush=True)


def register(mcp: FastMCP) -> None:
    @mcp.resource("kestra://instance/info", mime_type="application/json")
    def instance_info() -> str:
        _logged("kestra://instance/info")
        return json.dumps({"version": "0.24.0", "edition": "OSS"})

    @mcp.resource("kestra://secrets/{namespace}", mime_type="application/json")
    def namespace_secrets(namespace: str) -> str:
        _logged(f"kestra://secrets/{namespace}")
        return json.dumps({"namespace": namespace, "secrets": ["DB_PASSWORD"]})
