// `kubectl mcp-warden …`: kubectl runs the executable `kubectl-mcp_warden` (found on PATH) with the
// arguments after the plugin's name. The same commands as `mcp-warden`, named as the user typed them.
import { main } from "./main.ts";

process.exitCode = await main(process.argv.slice(2), { program: "kubectl mcp-warden" });
