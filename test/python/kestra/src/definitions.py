"""Test-only: tool descriptions replaced at start, as a changed server image would list them.
KESTRA_TEST_DESCRIPTIONS is a JSON object of tool name to description; tools/list answers carry those
descriptions instead of the ones the tools declare. Unset (as in every other test), nothing changes."""
import json
import os

from fastmcp.server.middleware import Middleware


class ReplacedDescriptions(Middleware):
    def __init__(self, descriptions: dict[str, str]) -> None:
        self.descriptions = descriptions

    async def on_list_tools(self, context, call_next):
        tools = await call_next(context)
        return [t.model_copy(update={"description": self.descriptions[t.name]}) if t.name in self.descriptions else t for t in tools]


def add_replaced_descriptions(mcp) -> None:
    text = os.environ.get("KESTRA_TEST_DESCRIPTIONS")
    if text:
        mcp.add_middleware(ReplacedDescriptions(json.loads(text)))
