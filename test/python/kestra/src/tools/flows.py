"""Tool groups "flow" and "namespace": find, read, create, enable, disable and delete flows; list
namespaces and what they contain. Each answer has the shape the real server gives it: Kestra's API
object where the real server passes it on, or what the real server builds from it (the namespace
lines of list_namespaces, the ranked matches of find_flow, the rendered dependency graphs)."""
import re
from difflib import SequenceMatcher
from typing import Any, Literal

import yaml

from fake_kestra import RESERVED_FLOW_IDS, FakeKestra, KestraApiError
from tools.dependencies import render_dependencies


def register(mcp, kestra: FakeKestra) -> None:
    def graph(flows: list[dict]) -> dict:
        """Kestra's dependency graph of these flows: none of them triggers or calls another."""
        return {"nodes": [{"uid": f"{f['namespace']}_{f['id']}", "namespace": f["namespace"], "id": f["id"]} for f in flows], "edges": []}

    @mcp.tool
    async def search_flows(query: str, size: int = 10, page: int = 1) -> dict:
        """Full-text search of flows."""
        found = [f for f in kestra.flows.values() if query.lower() in kestra.flow_yaml(f).lower()]
        return {"results": found[(page - 1) * size : page * size], "total": len(found)}

    @mcp.tool
    async def find_flow(query: str, namespace: str = "") -> dict:
        """Fuzzy-find a flow by name."""
        # Kestra's /flows/search?q= matches the query as a substring of ids and namespaces.
        found = [f for f in kestra.flows.values() if (not namespace or f["namespace"] == namespace) and query.lower() in f"{f['namespace']}.{f['id']}".lower()]
        if not found:
            return {"found": False, "message": f"No flows found matching '{query}'. Try a different search term or check available flows with search_flows.", "matches": []}
        scored = sorted(({"namespace": f["namespace"], "flow_id": f["id"], "score": round(match_score(query, f["id"], f["namespace"]), 3)} for f in found),
                        key=lambda m: m["score"], reverse=True)
        best = scored[0]
        if best["score"] >= 0.8 and (len(scored) == 1 or scored[1]["score"] < best["score"] - 0.1):
            return {"found": True, "message": f"Found flow '{best['flow_id']}' in namespace '{best['namespace']}'",
                    "match": {"namespace": best["namespace"], "flow_id": best["flow_id"]}, "matches": scored[:5]}
        return {"found": True, "message": f"Found {len(scored)} possible matches. The top results are listed below.", "matches": scored[:5]}

    @mcp.tool
    async def list_flows_with_triggers(namespace: str = "", enabled_only: bool = False, disabled_only: bool = False) -> dict:
        """List flows that have triggers, with the trigger definitions."""
        namespaces = [namespace] if namespace else sorted({f["namespace"] for f in kestra.flows.values()})
        results = []
        for ns in namespaces:
            for flow in (f for f in kestra.flows.values() if f["namespace"] == ns):
                triggers = [t for t in flow["triggers"] if not (enabled_only and t.get("disabled", False)) and not (disabled_only and not t.get("disabled", False))]
                if not triggers:
                    continue
                lines = [f"Flow `{flow['id']}` in namespace `{ns}` with triggers:"]
                for t in triggers:
                    status = "disabled" if t.get("disabled", False) else "enabled"
                    lines.append(f"- `{t['id']}` ({status}) of type `{t['type']}` defined as:\n{yaml.safe_dump(t, sort_keys=False).strip()}\n")
                results.append("\n".join(lines))
        return {"results": results}

    @mcp.tool
    async def create_flow_from_yaml(yaml_definition: str) -> dict:
        """Create or update a flow from YAML."""
        source = yaml.safe_load(yaml_definition)
        if not isinstance(source, dict) or not source.get("namespace") or not source.get("id"):
            raise ValueError("YAML must include 'namespace' and 'id' fields")
        if source["id"] in RESERVED_FLOW_IDS:
            raise ValueError(f"The flow ID `{source['id']}` is reserved and cannot be used. "
                             f"Please choose a different ID (not: {', '.join(sorted(RESERVED_FLOW_IDS))}).")
        if not source.get("tasks"):
            raise KestraApiError(422, "/flows", "Invalid Flow: tasks must not be empty")
        namespace, flow_id = str(source["namespace"]), str(source["id"])
        previous = kestra.flows.get((namespace, flow_id))
        flow = kestra.make_flow(namespace, flow_id, None, False, [str(t.get("id")) for t in source["tasks"]])
        flow["revision"] = previous["revision"] + 1 if previous else 1
        kestra.flows[(namespace, flow_id)] = flow
        if namespace not in kestra.namespaces:
            kestra.namespaces.append(namespace)
        return flow  # Kestra answers the created (or, on 409, updated) flow

    @mcp.tool
    async def manage_flow(action: Literal["enable", "disable", "list_revisions", "list_dependencies", "get_yaml", "delete"],
                          namespace: str, flow_id: str) -> Any:
        """Enable, disable, delete or inspect (revisions, dependencies, YAML) a flow."""
        flow = kestra.flow(namespace, flow_id)
        if action in ("enable", "disable"):
            flow["disabled"] = action == "disable"
            return {"count": 1}  # Kestra's BulkResponse of /flows/{enable,disable}/by-ids
        if action == "list_revisions":
            return [{**flow, "revision": r} for r in range(1, flow["revision"] + 1)]
        if action == "list_dependencies":
            return {"result": render_dependencies(graph([flow]), "Flows listed without arrows have no dependencies within this flow.")}
        if action == "get_yaml":
            return {"result": kestra.flow_yaml(flow)}
        del kestra.flows[(namespace, flow_id)]
        return {}  # 204 No Content

    @mcp.tool
    async def list_namespaces(query: str = "", page_size: int = 100, with_flows_only: bool = False) -> dict:
        """List namespaces."""
        if with_flows_only:
            return {"results": sorted({f["namespace"] for f in kestra.flows.values()})}  # /flows/distinct-namespaces
        # /namespaces/search answers {id, disabled} objects; the server writes one line per namespace.
        return {"results": [f"{n} (created)" for n in kestra.namespaces if query in n]}

    @mcp.tool
    async def list_flows_in_namespace(namespace: str) -> dict:
        """List all flows of a namespace."""
        return {"results": [f for f in kestra.flows.values() if f["namespace"] == namespace]}  # Kestra answers [] for an unknown namespace

    @mcp.tool
    async def list_namespace_dependencies(namespace: str) -> dict:
        """Show flow dependencies inside a namespace."""
        kestra.namespace(namespace)
        flows = [f for f in kestra.flows.values() if f["namespace"] == namespace]
        return {"result": render_dependencies(graph(flows), "Flows listed without arrows have no dependencies within this namespace.")}


def normalized(text: str) -> str:
    return re.sub(r"[^a-z0-9_]", "", re.sub(r"[\s\-.]+", "_", text.lower().strip()))


def match_score(query: str, flow_id: str, namespace: str) -> float:
    """How well a query names a flow, as the real server ranks find_flow's matches: 1 for the same
    normalized name, 0.9 when one contains the other, else the similarity ratio (+0.05 when the query
    is part of the namespace)."""
    q, name = normalized(query), normalized(flow_id)
    if q == name:
        return 1.0
    if q in name or name in q:
        return 0.9
    score = SequenceMatcher(None, q, name).ratio()
    return min(score + 0.05, 1.0) if namespace and q in normalized(namespace) else score
