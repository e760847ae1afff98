"""Tool groups "flow" and "namespace": find, read, create, enable, disable and delete flows; list
namespaces and what they contain."""
import re
from typing import Any, Literal

import yaml

from fake_kestra import FakeKestra, KestraApiError


def register(mcp, kestra: FakeKestra) -> None:
    def summary(flow: dict) -> dict:
        return {key: flow[key] for key in ("id", "namespace", "revision", "disabled", "labels")}

    @mcp.tool
    async def search_flows(query: str, size: int = 10, page: int = 1) -> dict:
        """Full-text search of flows."""
        found = [f for f in kestra.flows.values() if query.lower() in kestra.flow_yaml(f).lower()]
        return {"results": [summary(f) for f in found[(page - 1) * size : page * size]], "total": len(found)}

    @mcp.tool
    async def find_flow(query: str, namespace: str = "") -> dict:
        """Fuzzy-find a flow by name."""
        words = [w for w in re.split(r"[\s._-]+", query.lower()) if w]
        found = [f for f in kestra.flows.values() if (not namespace or f["namespace"] == namespace) and any(w in f["id"] for w in words)]
        return {"results": [summary(f) for f in found], "total": len(found)}

    @mcp.tool
    async def list_flows_with_triggers(namespace: str = "", enabled_only: bool = False, disabled_only: bool = False) -> dict:
        """List flows that have triggers, with the trigger definitions."""
        found = [
            {**summary(f), "triggers": f["triggers"]}
            for f in kestra.flows.values()
            if f["triggers"] and (not namespace or f["namespace"] == namespace) and not (enabled_only and f["disabled"]) and not (disabled_only and not f["disabled"])
        ]
        return {"results": found, "total": len(found)}

    @mcp.tool
    async def create_flow_from_yaml(yaml_definition: str) -> dict:
        """Create or update a flow from YAML."""
        try:
            source = yaml.safe_load(yaml_definition)
        except yaml.YAMLError as err:
            raise KestraApiError(422, "/flows", f"Invalid YAML: {err}") from err
        if not isinstance(source, dict) or not source.get("id") or not source.get("namespace") or not source.get("tasks"):
            raise KestraApiError(422, "/flows", "A flow needs id, namespace and tasks")
        namespace, flow_id = str(source["namespace"]), str(source["id"])
        previous = kestra.flows.get((namespace, flow_id))
        flow = kestra.make_flow(namespace, flow_id, None, False, [str(t.get("id")) for t in source["tasks"]])
        flow["revision"] = previous["revision"] + 1 if previous else 1
        kestra.flows[(namespace, flow_id)] = flow
        if namespace not in kestra.namespaces:
            kestra.namespaces.append(namespace)
        return summary(flow)

    @mcp.tool
    async def manage_flow(action: Literal["enable", "disable", "list_revisions", "list_dependencies", "get_yaml", "delete"],
                          namespace: str, flow_id: str) -> Any:
        """Enable, disable, delete or inspect (revisions, dependencies, YAML) a flow."""
        flow = kestra.flow(namespace, flow_id)
        if action in ("enable", "disable"):
            flow["disabled"] = action == "disable"
            return summary(flow)
        if action == "list_revisions":
            return {"revisions": [{"revision": r, "namespace": namespace, "id": flow_id} for r in range(1, flow["revision"] + 1)]}
        if action == "list_dependencies":
            others = [f for f in kestra.flows.values() if f["namespace"] == namespace and f is not flow]
            return {"nodes": [{"namespace": f["namespace"], "id": f["id"]} for f in [flow, *others]], "edges": [{"source": flow_id, "target": f["id"]} for f in others[:1]]}
        if action == "get_yaml":
            return kestra.flow_yaml(flow)
        del kestra.flows[(namespace, flow_id)]
        return {"deleted": True, "namespace": namespace, "id": flow_id}

    @mcp.tool
    async def list_namespaces(query: str = "", page_size: int = 100, with_flows_only: bool = False) -> dict:
        """List namespaces."""
        with_flows = {f["namespace"] for f in kestra.flows.values()}
        found = [n for n in kestra.namespaces if query in n and (not with_flows_only or n in with_flows)]
        return {"results": [{"id": n, "disabled": False} for n in found[:page_size]], "total": len(found)}

    @mcp.tool
    async def list_flows_in_namespace(namespace: str) -> dict:
        """List all flows of a namespace."""
        kestra.namespace(namespace)
        found = [summary(f) for f in kestra.flows.values() if f["namespace"] == namespace]
        return {"results": found, "total": len(found)}

    @mcp.tool
    async def list_namespace_dependencies(namespace: str) -> dict:
        """Show flow dependencies inside a namespace."""
        kestra.namespace(namespace)
        flows = [f for f in kestra.flows.values() if f["namespace"] == namespace]
        return {"nodes": [{"namespace": namespace, "id": f["id"]} for f in flows], "edges": [{"source": a["id"], "target": b["id"]} for a, b in zip(flows, flows[1:])]}

