// The benchmark's MCP server, in a process of its own so its CPU is never counted as the proxy's:
// the Kestra double with docstring-length descriptions (tools/list ≈ 42 KB, as the real server's).
import { startKestraDouble } from "../../test/upstreams/kestra-double.ts";

const double = await startKestraDouble({ descriptions: "docstring", answers: "sse" });
process.stdout.write(`READY ${double.url}\n`);
process.on("SIGTERM", () => void double.close().then(() => process.exit(0)));
