"""Tool groups "files" and "kv": namespace files and directories, and key-value pairs. `get` returns
stored values verbatim, which is why policies treat these reads with care."""
from typing import Any, Literal

from fake_kestra import FakeKestra, KestraApiError


def register(mcp, kestra: FakeKestra) -> None:
    @mcp.tool
    async def namespace_file_action(namespace: str, path: str = None, action: Literal["get", "create", "move", "delete", "search"] = "get",
                                    file_content: bytes = None, to_path: str = None, q: str = None) -> dict:
        """Get, create, move, delete or search a namespace file."""
        files = kestra.files.setdefault(kestra.namespace(namespace), {})
        if action == "search":
            return {"results": sorted(p for p in files if (q or "") in p)}
        if not path:
            raise ValueError(f"`path` is required for '{action}'.")
        if action == "create":
            files[path] = (file_content or b"").decode("utf-8", errors="replace")
            return {"namespace": namespace, "path": path, "size": len(files[path])}
        if path not in files:
            raise KestraApiError(404, f"/namespaces/{namespace}/files?path={path}", f"File '{path}' not found")
        if action == "get":
            return {"namespace": namespace, "path": path, "content": files[path]}
        if action == "move":
            if not to_path:
                raise ValueError("`to_path` is required for 'move'.")
            files[to_path] = files.pop(path)
            return {"namespace": namespace, "from": path, "to": to_path}
        del files[path]
        return {"namespace": namespace, "deleted": path}

    @mcp.tool
    async def namespace_directory_action(namespace: str, path: str, action: Literal["list", "create", "delete", "move"], to_path: str = None) -> dict:
        """List, create, delete or move a namespace directory."""
        directories = kestra.directories.setdefault(kestra.namespace(namespace), set())
        files = kestra.files.setdefault(namespace, {})
        prefix = path.rstrip("/") + "/"
        if action == "list":
            entries = {p[len(prefix):].split("/")[0]: "File" if "/" not in p[len(prefix):] else "Directory" for p in files if p.startswith(prefix)}
            entries.update({d[len(prefix):].split("/")[0]: "Directory" for d in directories if d.startswith(prefix)})
            return {"namespace": namespace, "path": path, "entries": [{"fileName": name, "type": kind} for name, kind in sorted(entries.items())]}
        if action == "create":
            directories.add(path.rstrip("/"))
            return {"namespace": namespace, "created": path}
        if path.rstrip("/") not in directories:
            raise KestraApiError(404, f"/namespaces/{namespace}/files/directory?path={path}", f"Directory '{path}' not found")
        moved = [p for p in files if p.startswith(prefix)]
        directories.discard(path.rstrip("/"))
        if action == "move":
            if not to_path:
                raise ValueError("`to_path` is required for 'move'.")
            directories.add(to_path.rstrip("/"))
            for p in moved:
                files[to_path.rstrip("/") + "/" + p[len(prefix):]] = files.pop(p)
            return {"namespace": namespace, "from": path, "to": to_path, "files": len(moved)}
        for p in moved:
            del files[p]
        return {"namespace": namespace, "deleted": path, "files": len(moved)}

    @mcp.tool
    async def manage_kv_store(namespace: str, action: Literal["get", "set", "list", "delete"], key: str = None, value: Any = None) -> dict:
        """Get, set, list or delete key-value pairs of a namespace."""
        entries = kestra.kv.setdefault(kestra.namespace(namespace), {})
        if action == "list":
            return {"namespace": namespace, "keys": [{"key": k, "type": type(v).__name__.upper()} for k, v in sorted(entries.items())]}
        if not key:
            raise ValueError(f"`key` is required for '{action}' action")
        if action == "set":
            if value is None:
                raise ValueError("`value` is required for 'set' action")
            entries[key] = value
            return {"status": "ok"}
        if key not in entries:
            raise KestraApiError(404, f"/namespaces/{namespace}/kv/{key}", f"Key '{key}' not found")
        if action == "get":
            return {"key": key, "value": entries[key]}
        del entries[key]
        return {"deleted": True, "key": key}
