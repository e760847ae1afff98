"""Tool group "logs": read, download, search, delete and follow execution logs. Answers have the real
server's shapes: Kestra's log entries under `results`, downloads and the follow stream as text under
`result`, `{"status": "deleted"}` for Kestra's empty delete answers."""
import json

from fake_kestra import LEVELS, FakeKestra

VALID_LEVELS = {"ERROR", "WARN", "INFO", "DEBUG", "TRACE"}


def check_level(min_level: str | None) -> None:
    if min_level and min_level not in VALID_LEVELS:
        raise ValueError(f"Invalid min_level '{min_level}'. Must be one of: {', '.join(sorted(VALID_LEVELS))}")


def register(mcp, kestra: FakeKestra) -> None:
    def entries(execution_id: str, min_level: str | None, task_run_id: str | None, task_id: str | None, attempt: int | None) -> list[dict]:
        check_level(min_level)
        return [line for line in kestra.logs_of(execution_id, min_level, task_run_id, task_id) if attempt is None or line["attemptNumber"] == attempt]

    @mcp.tool
    async def get_execution_logs(execution_id: str, min_level: str | None = None, task_run_id: str | None = None, task_id: str | None = None,
                                 attempt: int | None = None) -> dict:
        """Read the log entries of an execution."""
        return {"results": entries(execution_id, min_level, task_run_id, task_id, attempt)}

    @mcp.tool
    async def download_execution_logs(execution_id: str, min_level: str | None = None, task_run_id: str | None = None, task_id: str | None = None,
                                      attempt: int | None = None) -> dict:
        """Download the logs of an execution as text."""
        lines = entries(execution_id, min_level, task_run_id, task_id, attempt)
        return {"result": "".join(f"{l['timestamp']} {l['level']} {l['message']}\n" for l in lines)}

    @mcp.tool
    async def search_logs(query: str | None = None, namespace: str | None = None, flow_id: str | None = None, min_level: str | None = None,
                          start_date: str | None = None, end_date: str | None = None, page: int = 1, size: int = 25) -> dict:
        """Search logs across executions."""
        check_level(min_level)
        floor = LEVELS.index(min_level) if min_level else 0
        found = [
            line for lines in kestra.logs.values() for line in lines
            if (not query or query.lower() in line["message"].lower()) and (not namespace or line["namespace"] == namespace)
            and (not flow_id or line["flowId"] == flow_id) and LEVELS.index(line["level"]) >= floor
            and (not start_date or line["timestamp"] >= start_date) and (not end_date or line["timestamp"] <= end_date)
        ]
        return {"results": found[(page - 1) * size : page * size], "total": len(found)}  # Kestra's PagedResults

    @mcp.tool
    async def delete_execution_logs(execution_id: str, min_level: str | None = None, task_run_id: str | None = None, task_id: str | None = None,
                                    attempt: int | None = None) -> dict:
        """Delete the logs of an execution."""
        doomed = entries(execution_id, min_level, task_run_id, task_id, attempt)
        kestra.logs[execution_id] = [line for line in kestra.logs[execution_id] if line not in doomed]
        return {"status": "deleted"}

    @mcp.tool
    async def delete_flow_logs(namespace: str, flow_id: str, trigger_id: str | None = None) -> dict:
        """Delete the logs of all executions of a flow."""
        kestra.flow(namespace, flow_id)
        for execution in kestra.search_executions(namespace, flow_id):
            kestra.logs[execution["id"]] = []
        return {"status": "deleted"}

    @mcp.tool
    async def follow_execution_logs(execution_id: str, min_level: str | None = None) -> dict:
        """Follow the log stream of an execution."""
        # The real server reads Kestra's SSE stream of the execution's logs as one text (it ends when
        # the execution has); it sends no notifications of its own.
        check_level(min_level)
        lines = kestra.logs_of(execution_id, min_level)
        return {"result": "".join(f"data:{json.dumps(line, separators=(',', ':'))}\n\n" for line in lines)}
