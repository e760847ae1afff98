// The check that makes the comparison fair: ToolHive and the sidecar both refuse the tool the policy
// denies, which the upstream itself would run, and both let an allowed tool through. Run once at the
// start of the benchmark; a proxy that lets the denied call through stops the run.
const ACCEPT = "application/json, text/event-stream";
/** What the lean upstream's answer for a tool it ran contains (bench/proxy/lean-upstream.ts). */
const RAN = /\\?"status\\?":\s*\\?"ok\\?"/;

async function callTool(
  url: string,
  token: string | undefined,
  tool: string,
): Promise<{ status: number; text: string }> {
  const base: Record<string, string> = {
    "content-type": "application/json",
    accept: ACCEPT,
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
  const post = (headers: Record<string, string>, body: unknown) =>
    fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  const init = await post(base, {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "bench", version: "1" } },
  });
  await init.text();
  const session = init.headers.get("mcp-session-id");
  if (init.status !== 200 || !session) throw new Error(`${url}: initialize answered ${init.status}`);
  const headers = { ...base, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" };
  await (await post(headers, { jsonrpc: "2.0", method: "notifications/initialized" })).text();
  const answer = await post(headers, {
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: { name: tool, arguments: { namespace: "company.team", flow_id: "nightly-etl" } },
  });
  const text = await answer.text();
  await fetch(url, { method: "DELETE", headers })
    .then((r) => r.text())
    .catch(() => undefined);
  return { status: answer.status, text };
}

export async function assertDenies(
  upstream: string,
  toolhive: string,
  sidecar: string,
  token: string,
  denied: string,
  allowed = "resume_execution",
): Promise<void> {
  const direct = await callTool(upstream, undefined, denied);
  if (!RAN.test(direct.text))
    throw new Error(
      `the upstream does not run ${denied} (the denial check would prove nothing): ${direct.text.slice(0, 300)}`,
    );
  for (const [name, url, key] of [
    ["ToolHive", toolhive, undefined],
    ["mcp-warden", sidecar, token],
  ] as const) {
    const refused = await callTool(url, key, denied);
    if (RAN.test(refused.text)) throw new Error(`${name} let ${denied} through: ${refused.text.slice(0, 300)}`);
    const passed = await callTool(url, key, allowed);
    if (passed.status !== 200 || !passed.text.includes('"result"'))
      throw new Error(`${name} did not let ${allowed} through: ${passed.status} ${passed.text.slice(0, 300)}`);
    process.stderr.write(
      `${name} denies ${denied} (${refused.status}: ${refused.text.replace(/\s+/g, " ").slice(0, 120)})\n`,
    );
  }
}
