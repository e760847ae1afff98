"""Tool group "ee" (Kestra Enterprise): users and groups, apps, test suites, announcements and
instance information."""
from typing import Any, Literal

from fake_kestra import FakeKestra, KestraApiError, kestra_id

Role = Literal["admin", "developer", "editor", "launcher", "viewer"]


def register(mcp, kestra: FakeKestra) -> None:
    def find(table: dict, key: str | None, what: str, path: str) -> dict:
        if not key or key not in table:
            raise KestraApiError(404, f"{path}/{key or ''}", f"{what} '{key}' not found")
        return table[key]

    @mcp.tool
    async def invite_user(email: str, group_names: list[str] | None = None, role: Role | None = None) -> Any:
        """Invite a user to the tenant, optionally into groups (Enterprise)."""
        invitation = {"id": f"inv-{kestra_id(email)[:8].lower()}", "email": email, "status": "PENDING", "groups": group_names or [], "role": role}
        kestra.invitations[invitation["id"]] = invitation
        return invitation

    @mcp.tool
    async def manage_tests(action: Literal["create", "run", "delete"], yaml_source: str | None = None, namespace: str | None = None, id_: str | None = None) -> Any:
        """Create, run or delete a flow unit-test suite (Enterprise)."""
        if action == "create":
            if not yaml_source:
                raise ValueError("`yaml_source` is required for 'create'.")
            suite_id = id_ or f"suite-{kestra_id(yaml_source)[:6].lower()}"
            kestra.tests[suite_id] = {"id": suite_id, "namespace": namespace or "company.team", "flowId": None}
            return kestra.tests[suite_id]
        suite = find(kestra.tests, id_, "Test suite", f"/tests/{namespace}")
        if action == "run":
            return {"testSuiteId": suite["id"], "state": "SUCCESS", "results": [{"id": "case-1", "state": "SUCCESS"}]}
        del kestra.tests[suite["id"]]
        return {}  # 204 No Content

    @mcp.tool
    async def manage_apps(action: Literal["create", "enable", "disable", "delete"], uid: str | None = None, yaml_source: str | None = None) -> Any:
        """Create, enable, disable or delete a Kestra App (Enterprise)."""
        if action == "create":
            if not yaml_source:
                raise ValueError("`yaml_source` is required for 'create'.")
            app_uid = uid or f"app-{kestra_id(yaml_source)[:6].lower()}"
            kestra.apps[app_uid] = {"uid": app_uid, "name": app_uid, "namespace": "company.team", "flowId": None, "enabled": True, "tags": []}
            return kestra.apps[app_uid]
        app = find(kestra.apps, uid, "App", "/apps")
        if action == "delete":
            del kestra.apps[app["uid"]]
            return {}  # 204 No Content
        app["enabled"] = action == "enable"
        return app

    @mcp.tool
    async def search_apps(page: int = 1, size: int = 10, sort: list | None = None, tags: list | None = None, q: str | None = None,
                          namespace: str | None = None, flowId: str | None = None) -> Any:
        """List or search Kestra Apps (Enterprise)."""
        found = [
            a for a in kestra.apps.values()
            if (not q or q.lower() in a["name"].lower()) and (not namespace or a["namespace"] == namespace)
            and (not flowId or a["flowId"] == flowId) and (not tags or set(tags) & set(a["tags"]))
        ]
        return {"results": found[(page - 1) * size : page * size], "total": len(found)}

    @mcp.tool
    async def manage_announcements(action: Literal["list", "create", "update", "delete"], id_: str | None = None, message: str | None = None,
                                   type: Literal["INFO", "WARNING", "ERROR"] | None = None, startDate: str | None = None,
                                   endDate: str | None = None, active: bool = True, tenantId: str | None = None) -> Any:
        """List, create, update or delete instance-wide announcements (Enterprise)."""
        if action == "list":
            return {"results": list(kestra.announcements.values())}
        if action == "create":
            if not message:
                raise ValueError("`message` is required for 'create'.")
            announcement = {"id": f"ann-{len(kestra.announcements) + 1}", "message": message, "type": type or "INFO", "active": active,
                            "startDate": startDate, "endDate": endDate}
            kestra.announcements[announcement["id"]] = announcement
            return announcement
        announcement = find(kestra.announcements, id_, "Announcement", "/banners")
        if action == "delete":
            del kestra.announcements[announcement["id"]]
            return {}  # 204 No Content
        announcement.update({k: v for k, v in {"message": message, "type": type, "startDate": startDate, "endDate": endDate}.items() if v is not None}, active=active)
        return announcement

    @mcp.tool
    async def manage_group(action: Literal["create", "get", "update", "delete"], id_: str | None = None, name: str | None = None, role: Role | None = None) -> Any:
        """Create, get, update or delete an IAM group (Enterprise)."""
        if action == "create":
            if not name:
                raise ValueError("`name` is required for 'create'.")
            group = {"id": f"g-{name}", "name": name, "role": role or "viewer", "members": 0}
            kestra.groups[group["id"]] = group
            return group
        group = find(kestra.groups, id_, "Group", "/groups")
        if action == "get":
            return group
        if action == "delete":
            del kestra.groups[group["id"]]
            return {}  # 204 No Content
        group.update({k: v for k, v in {"name": name, "role": role}.items() if v is not None})
        return group

    @mcp.tool
    async def manage_invitations(action: Literal["get", "delete"], id_: str | None = None) -> Any:
        """Get or delete a user invitation (Enterprise)."""
        invitation = find(kestra.invitations, id_, "Invitation", "/invitations")
        if action == "get":
            return invitation
        del kestra.invitations[invitation["id"]]
        return {"deleted": invitation["id"]}

    @mcp.tool
    async def get_instance_info(info: Literal["configuration", "license_info"] = "configuration") -> Any:
        """Read instance configuration or licence information (Enterprise)."""
        if info == "license_info":
            return {"type": "ENTERPRISE", "expiry": "2027-01-31T00:00:00Z", "valid": True}
        return {"uuid": kestra_id("instance"), "version": "1.1.4", "edition": "EE", "isTaskRunEnabled": True, "isAnonymousUsageEnabled": False}
