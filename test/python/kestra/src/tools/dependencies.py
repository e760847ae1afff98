"""Kestra's dependency graph ({nodes, edges}) as the text the real server renders for
list_namespace_dependencies and manage_flow list_dependencies: flow ids joined by arrows
(────▶ a flow trigger, ====▶ a subflow task), roots in order, then a legend."""

LEGEND = [
    "",
    "Legend:",
    "  ────▶ FLOW_TRIGGER  (flow-trigger-based dependency)",
    "  ====▶ FLOW_TASK     (subflow-task-based dependency)",
]


def render_dependencies(graph: dict, legend_text: str) -> str:
    names = {node["uid"]: node.get("id", node["uid"]) for node in graph.get("nodes", [])}
    children: dict[str, list[tuple[str, str]]] = {name: [] for name in names.values()}
    incoming: dict[str, set[str]] = {name: set() for name in names.values()}
    for edge in graph.get("edges", []):
        source, target = names.get(edge["source"], edge["source"]), names.get(edge["target"], edge["target"])
        arrow = "────▶" if edge.get("relation") == "FLOW_TRIGGER" else "====▶"
        children.setdefault(source, []).append((target, arrow))
        children.setdefault(target, [])
        incoming.setdefault(target, set()).add(source)
        incoming.setdefault(source, set())
    seen: set[str] = set()

    def render(node: str, prefix: str = "") -> list[str]:
        if node in seen:
            return []
        seen.add(node)
        if not children[node]:
            return [f"{prefix}{node}"]
        lines = []
        for child, arrow in sorted(children[node], key=lambda c: c[1] != "────▶"):  # triggers first
            lines.append(f"{prefix}{node} {arrow} {child}")
            lines += render(child, " " * (len(prefix) + len(node) + len(arrow) + 2))
        return lines

    lines = [line for root in sorted(n for n in children if not incoming.get(n)) for line in render(root)]
    return "\n".join(lines + LEGEND + [legend_text])
