"""The tools of the Kestra MCP server, one module per area, each with a `register(mcp, kestra)`."""
