"""Tool group "logs": read, download, search, delete and follow execution logs. Following sends each
log line to the client as an MCP log notification before the result, so the answer is a stream."""
from fastmcp import Context

from fake_kestra import LEVELS, FakeKestra


def register(mcp, kestra: FakeKestra) -> None:
    @mcp.tool
    async def get_execution_logs(execution_id: str, min_level: str | None = None, task_run_id: str | None = None, task_id: str | None = None,
                                 attempt: int | None = None) -> dict:
        """Read the log entries of an execution."""
        lines = [line for line in kestra.logs_of(execution_id, min_level, task_run_id, task_id) if attempt is None or line["attemptNumber"] == attempt]
        return {"executionId": execution_id, "logs": lines, "total": len(lines)}

    @mcp.tool
    async def download_execution_logs(execution_id: str, min_level: str | None = None, task_run_id: str | None = None, task_id: str | None = None,
                                      attempt: int | None = None) -> dict:
        """Download the logs of an execution as text."""
        lines = kestra.logs_of(execution_id, min_level, task_run_id, task_id)
        return {"executionId": execution_id, "content": "".join(f"{l['timestamp']} {l['level']} {l['message']}\n" for l in lines)}

    @mcp.tool
    async def search_logs(query: str | None = None, namespace: str | None = None, flow_id: str | None = None, min_level: str | None = None,
                          start_date: str | None = None, end_date: str | None = None, page: int = 1, size: int = 25) -> dict:
        """Search logs across executions."""
        floor = LEVELS.index(min_level.upper()) if min_level and min_level.upper() in LEVELS else 0
        found = [
            line for lines in kestra.logs.values() for line in lines
            if (not query or query.lower() in line["message"].lower()) and (not namespace or line["namespace"] == namespace)
            and (not flow_id or line["flowId"] == flow_id) and LEVELS.index(line["level"]) >= floor
            and (not start_date or line["timestamp"] >= start_date) and (not end_date or line["timestamp"] <= end_date)
        ]
        return {"results": found[(page - 1) * size : page * size], "total": len(found)}

    @mcp.tool
    async def delete_execution_logs(execution_id: str, min_level: str | None = None, task_run_id: str | None = None, task_id: str | None = None,
                                    attempt: int | None = None) -> dict:
        """Delete the logs of an execution."""
        doomed = kestra.logs_of(execution_id, min_level, task_run_id, task_id)
        kestra.logs[execution_id] = [line for line in kestra.logs[execution_id] if line not in doomed]
        return {"executionId": execution_id, "deleted": len(doomed)}

    @mcp.tool
    async def delete_flow_logs(namespace: str, flow_id: str, trigger_id: str | None = None) -> dict:
        """Delete the logs of all executions of a flow."""
        kestra.flow(namespace, flow_id)
        deleted = 0
        for execution in kestra.search_executions(namespace, flow_id):
            deleted += len(kestra.logs.get(execution["id"], []))
            kestra.logs[execution["id"]] = []
        return {"namespace": namespace, "flowId": flow_id, "deleted": deleted}

    @mcp.tool
    async def follow_execution_logs(execution_id: str, ctx: Context, min_level: str | None = None) -> dict:
        """Follow the log stream of an execution."""
        lines = kestra.logs_of(execution_id, min_level)
        for line in lines:
            await ctx.info(f"{line['timestamp']} {line['level']} {line['message']}")
        execution = kestra.execution(execution_id)
        return {"executionId": execution_id, "state": execution["state"]["current"], "lines": len(lines)}
