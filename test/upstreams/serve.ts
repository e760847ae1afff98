// Runs a test upstream in a process of its own, so a test can crash it (SIGKILL) and start it again on
// the same port: `node test/upstreams/serve.ts '{"kind":"controllable","port":0,"answers":"sse"}'`
// prints `READY <url>` once it listens, and exits on SIGTERM.
import { startControllableServer, type ControllableServerOptions } from "./controllable-server.ts";
import { startKestraDouble, type KestraDoubleOptions } from "./kestra-double.ts";

export type UpstreamSpec =
  ({ kind: "controllable" } & ControllableServerOptions) | ({ kind: "kestra" } & KestraDoubleOptions);

const spec = JSON.parse(process.argv[2] ?? '{"kind":"kestra"}') as UpstreamSpec;
const { kind, ...options } = spec;
const upstream = kind === "controllable" ? await startControllableServer(options) : await startKestraDouble(options);
process.stdout.write(`READY ${upstream.url}\n`);
process.once("SIGTERM", () => void upstream.close().then(() => process.exit(0)));
