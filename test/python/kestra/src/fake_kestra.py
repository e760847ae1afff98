"""An in-memory Kestra instance standing behind the test server's tools: namespaces, flows with
triggers, executions with task runs and logs, key-value entries, namespace files and the Enterprise
objects (groups, invitations, apps, tests, announcements). Objects have the shapes of Kestra's API;
the values are made up and deterministic. Failures are raised as KestraApiError, worded like the
HTTP errors the real server's httpx client raises."""
import base64
import hashlib

import httpx
from datetime import datetime, timedelta, timezone

BASE_URL = "http://localhost:8080/api/v1"
EPOCH = datetime(2026, 5, 4, 2, 0, 0, tzinfo=timezone.utc)
TERMINAL = {"SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "SKIPPED"}
STATES = TERMINAL | {"CREATED", "QUEUED", "RUNNING", "PAUSED", "RESTARTED", "KILLING", "RETRYING", "RETRIED"}
# Flow ids that collide with API routes; the real server refuses them before calling Kestra.
RESERVED_FLOW_IDS = {"pause", "resume", "force-run", "change-status", "kill", "executions", "search", "source", "disable", "enable"}
# The states the real server accepts for manage_executions change_status.
VALID_STATES = STATES
LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 422: "Unprocessable Entity",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class KestraApiError(Exception):
    """What `response.raise_for_status()` raises in the real server for a Kestra error answer."""

    def __init__(self, status: int, path: str, detail: str = ""):
        kind = "Client" if status < 500 else "Server"
        message = f"{kind} error '{status} {REASONS.get(status, 'Error')}' for url '{BASE_URL}{path}'"
        super().__init__(f"{message}: {detail}" if detail else message)
        self.status = status


def raise_fault(fault: dict) -> None:
    """Kestra failing as a test asked: what httpx raises when it cannot connect, or the error status
    raise_for_status() turns into an exception (no change was made)."""
    if fault.get("unreachable"):
        raise httpx.ConnectError("All connection attempts failed")
    raise KestraApiError(int(fault["status"]), "", "")


def kestra_id(seed: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(seed.encode()).digest()).decode()[:22].replace("-", "A").replace("_", "B")


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


FLOWS = [
    ("company.team", "nightly-etl", "0 2 * * *", False, ["extract", "transform", "load"]),
    ("company.team", "billing-sync", "*/15 * * * *", False, ["fetch-invoices", "sync"]),
    ("company.finance", "customer-export", None, False, ["query", "upload"]),
    ("dev.sandbox", "ml-retrain", "0 5 * * 1", True, ["prepare", "train", "evaluate"]),
]
# (namespace, flow, state) of the executions the instance starts with, oldest first.
EXECUTIONS = [
    ("company.team", "nightly-etl", "SUCCESS"),
    ("company.team", "nightly-etl", "FAILED"),
    ("company.team", "nightly-etl", "PAUSED"),
    ("company.team", "billing-sync", "SUCCESS"),
    ("company.team", "billing-sync", "RUNNING"),
    ("company.team", "billing-sync", "QUEUED"),
    ("company.finance", "customer-export", "SUCCESS"),
    ("dev.sandbox", "ml-retrain", "FAILED"),
]


class FakeKestra:
    def __init__(self) -> None:
        self.clock = 0
        self.namespaces = ["company", "company.team", "company.finance", "dev.sandbox"]
        self.flows: dict[tuple[str, str], dict] = {}
        for namespace, flow_id, cron, disabled, tasks in FLOWS:
            self.flows[(namespace, flow_id)] = self.make_flow(namespace, flow_id, cron, disabled, tasks)
        self.executions: dict[str, dict] = {}
        self.logs: dict[str, list[dict]] = {}
        for index, (namespace, flow_id, state) in enumerate(EXECUTIONS):
            self.create_execution(namespace, flow_id, state=state, seed=f"seed-{index}")
        self.kv: dict[str, dict[str, object]] = {
            "company.team": {"api_endpoint": "https://billing.example.com/v2", "db_password": "s3cr3t-Pa55word", "batch_size": 500},
        }
        self.files: dict[str, dict[str, str]] = {
            "company.team": {"/scripts/etl.py": "import sys\nprint('extracting', sys.argv[1:])\n", "/config/settings.yml": "retries: 3\nwarehouse: analytics\n"},
        }
        self.directories: dict[str, set[str]] = {"company.team": {"/scripts", "/config"}}
        self.groups = {"g-data": {"id": "g-data", "name": "data-engineers", "role": "developer", "members": 4}}
        self.invitations = {"inv-1": {"id": "inv-1", "email": "new.hire@example.com", "status": "PENDING", "groups": ["data-engineers"]}}
        self.apps = {"app-reports": {"uid": "app-reports", "name": "Reports", "namespace": "company.team", "flowId": "nightly-etl", "enabled": True, "tags": ["finance"]}}
        self.tests = {"nightly-etl-tests": {"id": "nightly-etl-tests", "namespace": "company.team", "flowId": "nightly-etl"}}
        self.announcements = {"ann-1": {"id": "ann-1", "message": "Maintenance on Sunday 02:00 UTC", "type": "INFO", "active": True}}

    # -- time and ids ---------------------------------------------------------------------------
    def now(self) -> datetime:
        self.clock += 1
        return EPOCH + timedelta(minutes=self.clock)

    # -- flows ----------------------------------------------------------------------------------
    def make_flow(self, namespace: str, flow_id: str, cron: str | None, disabled: bool, tasks: list[str]) -> dict:
        triggers = [{"id": "schedule", "type": "io.kestra.plugin.core.trigger.Schedule", "cron": cron}] if cron else []
        return {
            "id": flow_id,
            "namespace": namespace,
            "revision": 3,
            "disabled": disabled,
            "deleted": False,
            "labels": [{"key": "team", "value": namespace.split(".")[-1]}],
            "tasks": [{"id": task, "type": "io.kestra.plugin.scripts.python.Script"} for task in tasks],
            "triggers": triggers,
        }

    def flow(self, namespace: str, flow_id: str) -> dict:
        flow = self.flows.get((namespace, flow_id))
        if flow is None:
            raise KestraApiError(404, f"/flows/{namespace}/{flow_id}", f"Unable to find flow '{namespace}.{flow_id}'")
        return flow

    def flow_yaml(self, flow: dict) -> str:
        lines = [f"id: {flow['id']}", f"namespace: {flow['namespace']}", "tasks:"]
        lines += [f"  - id: {t['id']}\n    type: {t['type']}" for t in flow["tasks"]]
        if flow["triggers"]:
            lines += ["triggers:"] + [f"  - id: {t['id']}\n    type: {t['type']}\n    cron: \"{t['cron']}\"" for t in flow["triggers"]]
        return "\n".join(lines) + "\n"

    # -- executions -----------------------------------------------------------------------------
    def create_execution(self, namespace: str, flow_id: str, state: str = "CREATED", seed: str | None = None,
                         inputs: dict | None = None, labels: list[dict] | None = None, original: str | None = None) -> dict:
        flow = self.flow(namespace, flow_id)
        start = self.now()
        execution_id = kestra_id(seed or f"{namespace}/{flow_id}/{self.clock}")
        histories = [{"state": "CREATED", "date": iso(start)}]
        if state != "CREATED":
            histories.append({"state": state, "date": iso(start + timedelta(seconds=12))})
        task_runs = [
            {"id": kestra_id(f"{execution_id}/{task['id']}"), "taskId": task["id"], "state": {"current": "SUCCESS" if state == "SUCCESS" else state}, "attempts": [{"state": {"current": state}}]}
            for task in flow["tasks"]
        ]
        execution = {
            "id": execution_id,
            "namespace": namespace,
            "flowId": flow_id,
            "flowRevision": flow["revision"],
            "labels": [{"key": "system.correlationId", "value": original or execution_id}] + (labels or []),
            "inputs": inputs or {},
            "taskRunList": task_runs,
            "state": {"current": state, "histories": histories, "startDate": iso(start), "endDate": iso(start + timedelta(seconds=12)) if state in TERMINAL else None},
            "originalId": original or execution_id,
            "deleted": False,
        }
        self.executions[execution_id] = execution
        self.logs[execution_id] = [
            {"timestamp": iso(start + timedelta(seconds=i)), "level": level, "message": f"{task['id']}: {message}", "taskId": task["id"], "taskRunId": run["id"], "executionId": execution_id, "namespace": namespace, "flowId": flow_id, "attemptNumber": 0}
            for i, (task, run) in enumerate(zip(flow["tasks"], task_runs))
            for level, message in [("INFO", "started"), ("ERROR" if state == "FAILED" else "INFO", "failed with exit code 1" if state == "FAILED" else "finished")]
        ]
        return execution

    def execution(self, execution_id: str) -> dict:
        execution = self.executions.get(execution_id)
        if execution is None:
            raise KestraApiError(404, f"/executions/{execution_id}", f"Execution '{execution_id}' not found")
        return execution

    def set_state(self, execution: dict, state: str) -> dict:
        if state not in STATES:
            raise KestraApiError(422, f"/executions/{execution['id']}/change-status", f"Invalid state '{state}'")
        execution["state"]["current"] = state
        execution["state"]["histories"].append({"state": state, "date": iso(self.now())})
        execution["state"]["endDate"] = execution["state"]["histories"][-1]["date"] if state in TERMINAL else None
        return execution

    def latest_or_none(self, namespace: str, flow_id: str, state: str | None = None) -> dict | None:
        """What the real server's get_latest_execution finds: the newest execution of the flow (in the
        state, if given), or nothing."""
        found = [e for e in self.search_executions(namespace, flow_id) if state is None or e["state"]["current"] == state]
        return found[0] if found else None

    def search_executions(self, namespace: str, flow_id: str = "") -> list[dict]:
        found = [e for e in self.executions.values() if e["namespace"] == namespace and (not flow_id or e["flowId"] == flow_id)]
        return sorted(found, key=lambda e: e["state"]["startDate"], reverse=True)

    def logs_of(self, execution_id: str, min_level: str | None = None, task_run_id: str | None = None, task_id: str | None = None) -> list[dict]:
        self.execution(execution_id)
        floor = LEVELS.index(min_level.upper()) if min_level and min_level.upper() in LEVELS else 0
        return [
            line for line in self.logs.get(execution_id, [])
            if LEVELS.index(line["level"]) >= floor and (not task_run_id or line["taskRunId"] == task_run_id) and (not task_id or line["taskId"] == task_id)
        ]

    # -- namespaces -----------------------------------------------------------------------------
    def namespace(self, namespace: str) -> str:
        if namespace not in self.namespaces:
            raise KestraApiError(404, f"/namespaces/{namespace}", f"Namespace '{namespace}' not found")
        return namespace
