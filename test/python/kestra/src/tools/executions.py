"""Tool group "execution": start, inspect, label and list executions."""
from typing import Literal

from fake_kestra import RESERVED_FLOW_IDS, TERMINAL, VALID_STATES, FakeKestra, KestraApiError


def register(mcp, kestra: FakeKestra) -> None:
    @mcp.tool
    async def execute_flow(namespace: str, flow_id: str, revision: int = 0, wait: bool = False, inputs: dict = None,
                           labels: dict = None, schedule_date: str = "") -> dict:
        """Start an execution of a flow."""
        if flow_id in RESERVED_FLOW_IDS:
            raise ValueError(f"The flow ID `{flow_id}` is reserved and cannot be used. "
                             f"Please rename your flow to something other than: {', '.join(sorted(RESERVED_FLOW_IDS))}.")
        if revision and revision != kestra.flow(namespace, flow_id)["revision"]:
            raise KestraApiError(404, f"/executions/{namespace}/{flow_id}", f"Revision {revision} of flow '{namespace}.{flow_id}' not found")
        extra = [{"key": str(k), "value": str(v)} for k, v in (labels or {}).items()]
        execution = kestra.create_execution(namespace, flow_id, inputs=inputs, labels=extra)
        if wait:
            kestra.set_state(execution, "SUCCESS")
        if schedule_date:
            execution["scheduleDate"] = schedule_date
        return execution

    @mcp.tool
    async def manage_executions(action: Literal["pause", "kill", "delete", "get", "change_status"], execution_id: str,
                                status: str = None, cascade: bool = True) -> dict:
        """Pause, kill, delete, get or change the status of one execution."""
        execution = kestra.execution(execution_id)
        if action == "get":
            return execution
        if action == "pause":
            if execution["state"]["current"] != "RUNNING":
                raise KestraApiError(409, f"/executions/{execution_id}/pause", f"Execution is {execution['state']['current']}, not RUNNING")
            kestra.set_state(execution, "PAUSED")
            return {"status": "paused"}
        if action == "kill":
            if execution["state"]["current"] in TERMINAL:
                return {"executionId": execution_id, "status": "already_finished"}  # Kestra's 409
            kestra.set_state(execution, "KILLED")
            return {"executionId": execution_id, "status": "kill_requested"}  # Kestra's 202
        if action == "delete":
            del kestra.executions[execution_id]
            kestra.logs.pop(execution_id, None)
            return {}
        if not status:
            raise ValueError("'status' is required for change_status action.")
        if status not in VALID_STATES:
            raise ValueError(f"Invalid status `{status}`. Must be one of: {', '.join(sorted(VALID_STATES))}")
        return kestra.set_state(execution, status)

    @mcp.tool
    async def add_execution_labels(execution_id: str, labels: dict) -> dict:
        """Add labels to a terminated execution."""
        execution = kestra.execution(execution_id)
        if execution["state"]["current"] not in TERMINAL:
            raise ValueError(f"Cannot add labels to execution `{execution_id}` because its current state is `{execution['state']['current']}`. "
                             f"Labels may only be added when execution is in one of: {', '.join(sorted(TERMINAL))}.")
        merged = {label["key"]: label["value"] for label in execution["labels"]}
        merged.update({str(k): str(v) for k, v in labels.items()})
        execution["labels"] = [{"key": k, "value": v} for k, v in merged.items()]
        return execution  # Kestra answers the labelled execution

    @mcp.tool
    async def list_executions(namespace: str, flow_id: str = "", count: int = None, time_range: str = "", start_date: str = "",
                              end_date: str = "", page_size: int = 100) -> dict:
        """List executions of a namespace or flow in a time window."""
        # The real server asks for the last 90 days when no window is given; this instance's executions
        # are dated 2026-05-04 onwards and are all returned then.
        found = kestra.search_executions(namespace, flow_id)
        if start_date:
            found = [e for e in found if e["state"]["startDate"] >= start_date]
        if end_date:
            found = [e for e in found if e["state"]["startDate"] <= end_date]
        if count is not None:
            found = found[:count]
        return {"results": [_slim(e) for e in found]}


def _slim(execution: dict) -> dict:
    """The fields the real server keeps of each execution (newest first), leaving out task runs."""
    state = execution["state"]
    slim = {"id": execution["id"], "namespace": execution["namespace"], "flowId": execution["flowId"],
            "state": {"current": state["current"], "startDate": state["startDate"], "endDate": state["endDate"]}}
    if execution.get("inputs"):
        slim["inputs"] = execution["inputs"]
    if execution.get("labels"):
        slim["labels"] = execution["labels"]
    return slim
