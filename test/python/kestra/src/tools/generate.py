"""The AI-assistant generators (flow, dashboard, app, test): Kestra's /ai/generate endpoints answer
YAML text, which the real server returns as {"result": yaml}; with `auto_create` it also creates the
object and returns Kestra's answer for it instead, which turns a read into a write."""
from fake_kestra import FakeKestra, kestra_id


def register(mcp, kestra: FakeKestra) -> None:
    def generated_yaml(kind: str, prompt: str, previous: str, namespace: str) -> tuple[str, str]:
        object_id = f"generated-{kind}-{kestra_id(prompt)[:6].lower()}"
        source = (f"id: {object_id}\nnamespace: {namespace or 'company.team'}\n# {kind} for: {prompt}\n"
                  + (f"# revised from:\n# {previous.splitlines()[0]}\n" if previous else "")
                  + "tasks:\n  - id: generated\n    type: io.kestra.plugin.core.log.Log\n")
        return object_id, source

    @mcp.tool
    async def generate_flow(user_prompt: str, flow_yaml: str = "", namespace: str = "", provider_id: str = "", auto_create: bool = False) -> dict:
        """Generate flow YAML with the AI assistant; optionally create it."""
        flow_id, source = generated_yaml("flow", user_prompt, flow_yaml, namespace)
        if not auto_create:
            return {"result": source}
        ns = namespace or "company.team"
        previous = kestra.flows.get((ns, flow_id))
        flow = kestra.make_flow(ns, flow_id, None, False, ["generated"])
        flow["revision"] = previous["revision"] + 1 if previous else 1
        kestra.flows[(ns, flow_id)] = flow
        return flow

    @mcp.tool
    async def generate_dashboard(user_prompt: str, dashboard_yaml: str = "", provider_id: str = "", auto_create: bool = False) -> dict:
        """Generate dashboard YAML with the AI assistant; optionally create it."""
        dashboard_id, source = generated_yaml("dashboard", user_prompt, dashboard_yaml, "")
        return {"id": dashboard_id, "title": user_prompt, "sourceCode": source} if auto_create else {"result": source}

    @mcp.tool
    async def generate_app(user_prompt: str, app_yaml: str = "", provider_id: str = "", auto_create: bool = False) -> dict:
        """Generate App YAML with the AI assistant; optionally create it."""
        app_id, source = generated_yaml("app", user_prompt, app_yaml, "")
        if not auto_create:
            return {"result": source}
        kestra.apps[app_id] = {"uid": app_id, "name": app_id, "namespace": "company.team", "flowId": None, "enabled": True, "tags": []}
        return kestra.apps[app_id]

    @mcp.tool
    async def generate_test(user_prompt: str, test_yaml: str = "", provider_id: str = "", auto_create: bool = False) -> dict:
        """Generate test-suite YAML with the AI assistant; optionally create it."""
        suite_id, source = generated_yaml("test", user_prompt, test_yaml, "")
        if not auto_create:
            return {"result": source}
        kestra.tests[suite_id] = {"id": suite_id, "namespace": "company.team", "flowId": None}
        return kestra.tests[suite_id]
