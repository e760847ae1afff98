"""Kestra's REST API over the in-memory Kestra of fake_kestra.py, for a real Kestra MCP server's code
to call (KESTRA_BASE_URL=http://127.0.0.1:PORT/api/v1): the endpoints the Kestra servers' tools use
for namespaces, flows, executions and key-value pairs, answering Kestra's objects, status codes and
error bodies. Every request is recorded (method, path, query, body, Authorization header) and served
at GET /_test/requests, so a test judges what reached Kestra; POST /_test/reset restores the initial
state and empties the record; POST /_test/fault makes every API request answer an error status.
Paths it does not serve answer 404, as Kestra does.

    python fake_kestra_api.py PORT"""
import json
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from fake_kestra import FakeKestra, KestraApiError, TERMINAL

API = "/api/v1"


class State:
    def __init__(self) -> None:
        self.kestra = FakeKestra()
        self.requests: list[dict] = []
        # An HTTP status every API request answers while a test says Kestra is failing.
        self.fault_status: int | None = None


state = State()


def error(err: KestraApiError) -> JSONResponse:
    return JSONResponse({"message": str(err).split(": ", 1)[-1]}, status_code=err.status)


def page(items: list, request: Request) -> dict:
    size = int(request.query_params.get("size", 25))
    number = int(request.query_params.get("page", 1))
    return {"results": items[(number - 1) * size : number * size], "total": len(items)}


async def namespaces_search(request: Request):
    q = request.query_params.get("q", "")
    return JSONResponse(page([{"id": n, "disabled": False} for n in state.kestra.namespaces if q in n], request))


async def distinct_namespaces(_: Request):
    return JSONResponse(sorted({f["namespace"] for f in state.kestra.flows.values()}))


async def flows_of(request: Request):
    namespace = request.path_params["namespace"]
    return JSONResponse([f for f in state.kestra.flows.values() if f["namespace"] == namespace])


async def flow(request: Request):
    return JSONResponse(state.kestra.flow(request.path_params["namespace"], request.path_params["flow_id"]))


async def executions_search(request: Request):
    params = request.query_params
    found = state.kestra.search_executions(params.get("namespace", ""), params.get("flowId", ""))
    if params.get("state"):
        found = [e for e in found if e["state"]["current"] == params["state"]]
    return JSONResponse(page(found, request))


async def execution(request: Request):
    return JSONResponse(state.kestra.execution(request.path_params["execution_id"]))


async def create_execution(request: Request):
    kestra = state.kestra
    labels = [dict(zip(("key", "value"), label.split(":", 1))) for label in request.query_params.getlist("labels")]
    inputs = {k: v for k, v in (await request.form()).items()}
    created = kestra.create_execution(request.path_params["namespace"], request.path_params["flow_id"], inputs=inputs, labels=labels)
    return JSONResponse(created)


async def restart(request: Request):
    execution_id = request.path_params["execution_id"]
    target = state.kestra.execution(execution_id)
    if target["state"]["current"] != "FAILED":
        raise KestraApiError(422, f"/executions/{execution_id}/restart", f"Execution must be FAILED to be restarted, it's {target['state']['current']}")
    return JSONResponse(state.kestra.set_state(target, "RESTARTED"))


def resumable(target: dict, path: str) -> dict:
    if target["state"]["current"] != "PAUSED":
        raise KestraApiError(422, path, f"Execution is not PAUSED, it's {target['state']['current']}")
    return target


async def resume_by_ids(request: Request):
    targets = [resumable(state.kestra.execution(i), "/executions/resume/by-ids") for i in await request.json()]
    for target in targets:
        state.kestra.set_state(target, "RUNNING")
    return JSONResponse({"count": len(targets)})


async def resume(request: Request):
    execution_id = request.path_params["execution_id"]
    state.kestra.set_state(resumable(state.kestra.execution(execution_id), f"/executions/{execution_id}/resume"), "RUNNING")
    return Response(status_code=204)


async def force_run(request: Request):
    target = state.kestra.execution(request.path_params["execution_id"])
    return JSONResponse(state.kestra.set_state(target, "RUNNING"))


async def kill(request: Request):
    target = state.kestra.execution(request.path_params["execution_id"])
    if target["state"]["current"] in TERMINAL:
        return JSONResponse({"message": "Execution is already finished"}, status_code=409)
    state.kestra.set_state(target, "KILLED")
    return Response(status_code=202)


def kv_entries(request: Request) -> dict:
    return state.kestra.kv.setdefault(state.kestra.namespace(request.path_params["namespace"]), {})


async def kv_list(request: Request):
    return JSONResponse([{"key": k, "description": None, "expirationDate": None} for k in sorted(kv_entries(request))])


async def kv_key(request: Request):
    entries, key, namespace = kv_entries(request), request.path_params["key"], request.path_params["namespace"]
    if request.method == "PUT":
        text = (await request.body()).decode()
        try:
            entries[key] = json.loads(text)
        except ValueError:
            entries[key] = text
        return Response(status_code=200)
    if key not in entries:
        raise KestraApiError(404, f"/namespaces/{namespace}/kv/{key}", f"No value found for key '{key}'")
    if request.method == "DELETE":
        del entries[key]
        return JSONResponse(True)
    value = entries[key]
    kind = "BOOLEAN" if isinstance(value, bool) else "NUMBER" if isinstance(value, (int, float)) else "STRING" if isinstance(value, str) else "JSON"
    return JSONResponse({"type": kind, "value": value})


async def generate_flow(request: Request):
    prompt = (await request.json()).get("userPrompt", "")
    return PlainTextResponse(f"id: generated-flow\nnamespace: company.team\n# flow for: {prompt}\ntasks:\n  - id: generated\n    type: io.kestra.plugin.core.log.Log\n")


async def recorded(_: Request):
    return JSONResponse(state.requests)


async def reset(_: Request):
    state.kestra = FakeKestra()
    state.requests.clear()
    state.fault_status = None
    return JSONResponse({"reset": True})


async def fault(request: Request):
    """{"status": 503}: every API request answers that status (recorded, nothing changes); {}: ends it."""
    status = (await request.json()).get("status")
    if status is not None and not (isinstance(status, int) and 400 <= status <= 599):
        return JSONResponse({"error": "give {\"status\": 4xx|5xx} or {}"}, status_code=400)
    state.fault_status = status
    return JSONResponse({"status": status})


ROUTES = [
    ("GET", "/namespaces/search", namespaces_search),
    ("GET", "/flows/distinct-namespaces", distinct_namespaces),
    ("GET", "/flows/{namespace}", flows_of),
    ("GET", "/flows/{namespace}/{flow_id}", flow),
    ("GET", "/executions", executions_search),
    ("GET", "/executions/search", executions_search),
    ("POST", "/executions/resume/by-ids", resume_by_ids),
    ("GET", "/executions/{execution_id}", execution),
    ("POST", "/executions/{execution_id}/restart", restart),
    ("POST", "/executions/{execution_id}/resume", resume),
    ("POST", "/executions/{execution_id}/force-run", force_run),
    ("DELETE", "/executions/{execution_id}/kill", kill),
    ("POST", "/executions/{namespace}/{flow_id}", create_execution),
    ("GET", "/namespaces/{namespace}/kv", kv_list),
    ("GET", "/namespaces/{namespace}/kv/{key}", kv_key),
    ("PUT", "/namespaces/{namespace}/kv/{key}", kv_key),
    ("DELETE", "/namespaces/{namespace}/kv/{key}", kv_key),
    ("POST", "/ai/generate/flow", generate_flow),
]


def api_route(method: str, path: str, handler) -> Route:
    async def endpoint(request: Request):
        if state.fault_status is not None:
            return JSONResponse({"message": "Kestra is failing (test fault)"}, status_code=state.fault_status)
        try:
            return await handler(request)
        except KestraApiError as err:
            return error(err)
    return Route(API + path, endpoint, methods=[method])


class Recorder:
    """ASGI middleware: records each API request before it is answered."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(API):
            return await self.app(scope, receive, send)
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        state.requests.append({"method": scope["method"], "path": scope["path"][len(API):], "query": scope["query_string"].decode(),
                               "body": body.decode("utf-8", errors="replace"), "authorization": headers.get("authorization")})
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await self.app(scope, replay, send)


app = Recorder(Starlette(routes=[api_route(*route) for route in ROUTES]
                         + [Route("/_test/requests", recorded, methods=["GET"]), Route("/_test/reset", reset, methods=["POST"]),
                            Route("/_test/fault", fault, methods=["POST"])]))

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="info")
