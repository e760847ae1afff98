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
        if ids:
            replayed = [replay(kestra.execution(str(i))) for i in ids]
            return {"count": len(replayed)}  # Kestra's BulkResponse
        if not (namespace and flow_id):
            raise ValueError("If ids is not provided, both namespace and flow_id are required.")
        latest = kestra.latest_or_none(namespace, flow_id)
        if latest is None:
            raise ValueError(f"No executions found for {namespace}/{flow_id}.")
        replay(latest)
        return {"message": f"Replayed execution {latest['id']} for flow '{flow_id}' in namespace '{namespace}'.", "result": {"count": 1}}

    def replay(original: dict) -> dict:
        return kestra.create_execution(original["namespace"], original["flowId"], inputs=original["inputs"], original=original["id"])

    @mcp.tool
    async def restart_execution(namespace: str, flow_id: str, execution_id: str = None, revision: int = 0) -> dict:
        """Restart a failed execution, or the latest failed one of a flow."""
        if not execution_id:
            latest = kestra.latest_or_none(namespace, flow_id, "FAILED")
            if latest is None:
                raise ValueError(f"No failed executions found for {namespace}/{flow_id}.")
            execution = latest
        else:
            execution = kestra.execution(execution_id)
        current = execution["state"]["current"]
        if current != "FAILED":
            raise ValueError(f"Execution `{execution['id']}` is in state `{current}`, which cannot be restarted. "
                             "Only executions in the FAILED state can be restarted.")
        return kestra.set_state(execution, "RESTARTED")  # Kestra answers the restarted execution

    @mcp.tool
    async def change_taskrun_state(execution_id: str, state: str = "SUCCESS", task_run_id: str = "") -> dict:
        """Change the state of a task run of an execution."""
        execution = kestra.execution(execution_id)
        runs = execution["taskRunList"]
        if not task_run_id:
            failed = [r for r in runs if r["state"]["current"] == "FAILED"]
            if not failed:
                raise ValueError(f"No failed task runs found in execution `{execution_id}`")
            task_run_id = failed[0]["id"]
        run = next((r for r in runs if r["id"] == task_run_id), None)
        if run is None:
            raise KestraApiError(404, f"/executions/{execution_id}/state", f"Task run '{task_run_id}' not found")
        run["state"]["current"] = state
        return execution

    @mcp.tool
    async def resume_execution(execution_ids: list[str] | None = None, namespace: str | None = None, flow_id: str | None = None,
                               on_resume: dict | None = None) -> dict:
        """Resume paused executions by id, or the latest paused one of a flow."""
        if execution_ids:
            targets = [kestra.execution(i) for i in execution_ids]
            if not on_resume:
                resumable(targets, "/executions/resume/by-ids")
                for execution in targets:
                    kestra.set_state(execution, "RUNNING")
                return {"count": len(targets)}  # Kestra's BulkResponse
            results = {}
            for execution in targets:
                resumable([execution], f"/executions/{execution['id']}/resume")
                kestra.set_state(execution, "RUNNING")
                results[execution["id"]] = {}  # 204 No Content
            return results
        if not (namespace and flow_id):
            raise ValueError("If execution_ids is not provided, both namespace and flow_id are required.")
        latest = kestra.latest_or_none(namespace, flow_id, "PAUSED")
        if latest is None:
            params = {"namespace": namespace, "flowId": flow_id, "state": "PAUSED", "size": 100, "sort": "state.startDate,desc"}
            raise ValueError(f"No paused executions found for {namespace}/{flow_id}. Checked with params: {params}")
        kestra.set_state(latest, "RUNNING")
        return {latest["id"]: {}}

    def resumable(executions: list[dict], path: str) -> None:
        for execution in executions:
            if execution["state"]["current"] != "PAUSED":
                raise KestraApiError(409, path, f"Execution is {execution['state']['current']}, not PAUSED")

    @mcp.tool
    async def force_run_execution(execution_id: str) -> dict:
        """Force-run a created, paused or queued execution."""
        execution = kestra.execution(execution_id)
        current = execution["state"]["current"]
        if current not in {"CREATED", "PAUSED", "QUEUED"}:
            raise ValueError(f"Cannot force-run execution `{execution_id}` because it's currently in `{current}` state.")
        return kestra.set_state(execution, "RUNNING")
