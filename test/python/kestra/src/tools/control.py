"""Tool groups "backfill", "replay", "restart" and "resume": tools that run executions again or move
them on. Several act on "the latest" matching execution when no id is given, as Kestra's server does."""
from datetime import timedelta

from fake_kestra import EPOCH, FakeKestra, KestraApiError, iso


def register(mcp, kestra: FakeKestra) -> None:
    @mcp.tool
    async def backfill_executions(namespace: str, flow_id: str, start: str | None = None, end: str | None = None, days: int = 0,
                                  hours: int = 0, minutes: int = 0, trigger_id: str | None = None, inputs: dict | None = None,
                                  labels: list | None = None) -> dict:
        """Create a backfill of a flow schedule trigger for a time window."""
        flow = kestra.flow(namespace, flow_id)
        schedules = [t for t in flow["triggers"] if trigger_id in (None, t["id"])]
        if not schedules:
            raise KestraApiError(404, f"/triggers/{namespace}/{flow_id}/{trigger_id or ''}", "No schedule trigger to backfill")
        if start is None and not (days or hours or minutes):
            raise ValueError("Give `start`, or a window in days, hours or minutes.")
        begin = start or iso(EPOCH - timedelta(days=days, hours=hours, minutes=minutes))
        return {
            "namespace": namespace,
            "flowId": flow_id,
            "triggerId": schedules[0]["id"],
            "backfill": {"start": begin, "end": end or iso(EPOCH), "currentDate": begin, "paused": False, "inputs": inputs or {}, "labels": labels or []},
        }

    @mcp.tool
    async def replay_execution(ids: list = None, namespace: str = None, flow_id: str = None, latest_revision: bool = False) -> dict:
        """Replay executions by id, or the latest execution of a flow."""
        targets = [kestra.execution(str(i)) for i in ids] if ids else [kestra.latest(namespace, flow_id, {"SUCCESS", "FAILED", "WARNING", "KILLED"})]
        replays = []
        for original in targets:
            replay = kestra.create_execution(original["namespace"], original["flowId"], inputs=original["inputs"], original=original["id"])
            replays.append({"id": replay["id"], "originalId": original["id"], "latestRevision": latest_revision})
        return {"count": len(replays), "executions": replays}

    @mcp.tool
    async def restart_execution(namespace: str, flow_id: str, execution_id: str = None, revision: int = 0) -> dict:
        """Restart a failed execution, or the latest failed one of a flow."""
        execution = kestra.execution(execution_id) if execution_id else kestra.latest(namespace, flow_id, {"FAILED"})
        if execution["state"]["current"] != "FAILED":
            raise KestraApiError(409, f"/executions/{execution['id']}/restart", f"Execution is {execution['state']['current']}; only FAILED executions can be restarted")
        kestra.set_state(execution, "RESTARTED")
        return {"id": execution["id"], "namespace": execution["namespace"], "flowId": execution["flowId"], "state": execution["state"]["current"], "revision": revision or execution["flowRevision"]}

    @mcp.tool
    async def change_taskrun_state(execution_id: str, state: str = "SUCCESS", task_run_id: str = "") -> dict:
        """Change the state of a task run of an execution."""
        execution = kestra.execution(execution_id)
        runs = execution["taskRunList"]
        run = next((r for r in runs if r["id"] == task_run_id), None) if task_run_id else runs[-1]
        if run is None:
            raise KestraApiError(404, f"/executions/{execution_id}/state", f"Task run '{task_run_id}' not found")
        run["state"]["current"] = state
        return {"id": execution_id, "taskRunId": run["id"], "taskId": run["taskId"], "state": state}

    @mcp.tool
    async def resume_execution(execution_ids: list[str] | None = None, namespace: str | None = None, flow_id: str | None = None,
                               on_resume: dict | None = None) -> dict:
        """Resume paused executions by id, or the latest paused one of a flow."""
        targets = [kestra.execution(i) for i in execution_ids] if execution_ids else [kestra.latest(namespace, flow_id, {"PAUSED"})]
        for execution in targets:
            if execution["state"]["current"] != "PAUSED":
                raise KestraApiError(409, f"/executions/{execution['id']}/resume", f"Execution is {execution['state']['current']}, not PAUSED")
        resumed = [kestra.set_state(e, "RUNNING") for e in targets]
        return {"count": len(resumed), "executions": [{"id": e["id"], "state": e["state"]["current"], "onResume": on_resume or {}} for e in resumed]}

    @mcp.tool
    async def force_run_execution(execution_id: str) -> dict:
        """Force-run a created, paused or queued execution."""
        execution = kestra.execution(execution_id)
        if execution["state"]["current"] not in {"CREATED", "PAUSED", "QUEUED"}:
            raise KestraApiError(409, f"/executions/{execution_id}/force-run", f"Execution is {execution['state']['current']}")
        kestra.set_state(execution, "RUNNING")
        return {"id": execution_id, "state": "RUNNING"}
