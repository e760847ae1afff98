"""The AI-assistant generators (flow, dashboard, app, test): they return generated YAML, and with
`auto_create` also create the object, which turns a read into a write."""
from fake_kestra import FakeKestra, kestra_id


def register(mcp, kestra: FakeKestra) -> None:
    def generated(kind: str, prompt: str, previous: str, namespace: str, auto_create: bool) -> dict:
        object_id = f"generated-{kind}-{kestra_id(prompt)[:6].lower()}"
        source = f"id: {object_id}\nnamespace: {namespace or 'company.team'}\n# {kind} for: {prompt}\n" + (f"# revised from:\n# {previous.splitlines()[0]}\n" if previous else "")
        result = {"kind": kind, "yaml": source, "created": False}
        if auto_create:
            if kind == "flow":
                kestra.flows[(namespace or "company.team", object_id)] = kestra.make_flow(namespace or "company.team", object_id, None, False, ["generated"])
            result.update(created=True, id=object_id)
        return result

    @mcp.tool
    async def generate_flow(user_prompt: str, flow_yaml: str = "", namespace: str = "", provider_id: str = "", auto_create: bool = False) -> dict:
        """Generate flow YAML with the AI assistant; optionally create it."""
        return generated("flow", user_prompt, flow_yaml, namespace, auto_create)

    @mcp.tool
    async def generate_dashboard(user_prompt: str, dashboard_yaml: str = "", provider_id: str = "", auto_create: bool = False) -> dict:
        """Generate dashboard YAML with the AI assistant; optionally create it."""
        return generated("dashboard", user_prompt, dashboard_yaml, "", auto_create)

    @mcp.tool
    async def generate_app(user_prompt: str, app_yaml: str = "", provider_id: str = "", auto_create: bool = False) -> dict:
        """Generate App YAML with the AI assistant; optionally create it."""
        return generated("app", user_prompt, app_yaml, "", auto_create)

    @mcp.tool
    async def generate_test(user_prompt: str, test_yaml: str = "", provider_id: str = "", auto_create: bool = False) -> dict:
        """Generate test-suite YAML with the AI assistant; optionally create it."""
        return generated("test", user_prompt, test_yaml, "", auto_create)
