"""Tool groups "files" and "kv": namespace files and directories, and key-value pairs. `get` returns
stored values verbatim, which is why policies treat these reads with care. Answers have the real
server's shapes: Kestra's own where it passes them on, its status words where Kestra answers nothing,
and its `{"error": …}` results where it looks into a 404 itself."""
import posixpath
from typing import Any, Literal

from fake_kestra import EPOCH, FakeKestra, KestraApiError, iso


def kv_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, (int, float)):
        return "NUMBER"
    return "STRING" if isinstance(value, str) else "JSON"


def register(mcp, kestra: FakeKestra) -> None:
    def file_attributes(name: str, kind: str, size: int) -> dict:
        return {"fileName": name, "lastModifiedTime": iso(EPOCH), "creationTime": iso(EPOCH), "type": kind, "size": size}

    def missing_file(namespace: str, path: str) -> KestraApiError:
        return KestraApiError(404, f"/namespaces/{namespace}/files?path={path}", f"File '{path}' not found")

    @mcp.tool
    async def namespace_file_action(namespace: str, path: str = None, action: Literal["get", "create", "move", "delete", "search"] = "get",
                                    file_content: bytes = None, to_path: str = None, q: str = None) -> dict:
        """Get, create, move, delete or search a namespace file."""
        files = kestra.files.setdefault(kestra.namespace(namespace), {})
        directories = kestra.directories.setdefault(namespace, set())
        if action == "search":
            if q is None:
                raise ValueError("q is required for 'search' action")
            return {"results": sorted(p for p in files if q in p)}
        if action == "create":
            if file_content is None:
                raise ValueError("file_content is required for 'create' action")
            files[path] = file_content.decode("utf-8", errors="replace")
            return {"status": "created"}
        if action == "move":
            if to_path is None:
                raise ValueError("to_path is required for 'move' action")
            if path not in files:
                return {"error": f"The source file '{path}' does not exist in namespace '{namespace}'."}
            target_dir = posixpath.dirname(to_path)
            if target_dir not in ("", "/") and target_dir not in directories:
                return {"error": f"The destination directory '{target_dir}' does not exist in namespace '{namespace}'. Please create it first."}
            files[to_path] = files.pop(path)
            return {"status": "moved"}
        if path not in files:
            raise missing_file(namespace, path)
        if action == "get":
            return {"content": files[path]}
        del files[path]
        return {"status": "deleted"}

    @mcp.tool
    async def namespace_directory_action(namespace: str, path: str, action: Literal["list", "create", "delete", "move"], to_path: str = None) -> dict:
        """List, create, delete or move a namespace directory."""
        directories = kestra.directories.setdefault(kestra.namespace(namespace), set())
        files = kestra.files.setdefault(namespace, {})
        prefix = path.rstrip("/") + "/"
        if action == "list":
            entries: dict[str, dict] = {}
            for p, content in files.items():
                if p.startswith(prefix):
                    name, _, rest = p[len(prefix):].partition("/")
                    entries[name] = file_attributes(name, "Directory", 0) if rest else file_attributes(name, "File", len(content))
            for d in directories:
                if d.startswith(prefix) and d != path.rstrip("/"):
                    name = d[len(prefix):].split("/")[0]
                    entries.setdefault(name, file_attributes(name, "Directory", 0))
            return {"results": [entries[name] for name in sorted(entries)]}
        if action == "create":
            directories.add(path.rstrip("/"))
            return {"status": "directory_created"}
        if action == "move" and to_path is None:
            return {"error": "'to_path' must be provided for move action."}
        if path.rstrip("/") not in directories:
            if action == "delete":
                return {"error": f"The directory '{path}' does not exist in namespace '{namespace}'."}
            return {"error": f"The source directory '{path}' does not exist in namespace '{namespace}'."}
        moved = [p for p in files if p.startswith(prefix)]
        directories.discard(path.rstrip("/"))
        if action == "move":
            directories.add(to_path.rstrip("/"))
            for p in moved:
                files[to_path.rstrip("/") + "/" + p[len(prefix):]] = files.pop(p)
            return {"status": "directory_moved"}
        for p in moved:
            del files[p]
        return {"status": "directory_deleted"}

    @mcp.tool
    async def manage_kv_store(namespace: str, action: Literal["get", "set", "list", "delete"], key: str = None, value: Any = None) -> dict:
        """Get, set, list or delete key-value pairs of a namespace."""
        entries = kestra.kv.setdefault(kestra.namespace(namespace), {})
        if action == "list":
            # Kestra's KV entries: the keys and their dates, not the values.
            return {"results": [{"key": k, "description": None, "creationDate": iso(EPOCH), "updateDate": iso(EPOCH), "expirationDate": None} for k in sorted(entries)]}
        if action == "set":
            if not key or value is None:
                raise ValueError("`key` and `value` are required for 'set' action")
            entries[key] = value
            return {"status": "ok"}
        if not key:
            raise ValueError(f"`key` is required for '{action}' action")
        if action == "delete":
            if key not in entries:
                return {"error": f"Key '{key}' not found in namespace '{namespace}'."}
            del entries[key]
            return {"deleted": True}
        if key not in entries:
            raise KestraApiError(404, f"/namespaces/{namespace}/kv/{key}", f"No value found for key '{key}'")
        return {"type": kv_type(entries[key]), "value": entries[key]}  # Kestra's typed value
