// A real kube-apiserver with etcd for tests (binaries from test/cluster/build-binaries.sh, cached
// outside the clone): certificates made with openssl, an admin client certificate (system:masters),
// and the service-account issuer at https://127.0.0.1:<port>, whose discovery document and JWKS the
// sidecar verifies service-account tokens against.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, fetch } from "undici";

export interface TestApiServer {
  url: string;
  caFile: string;
  /** Calls the API as cluster admin. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  /** A service-account token from the TokenRequest API. */
  token(namespace: string, serviceAccount: string, audiences?: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** The cached control-plane binaries (built on first use; scripts/prerequisites.sh builds them for CI). */
export function kubeBinDir(): string {
  const script = new URL("../cluster/build-binaries.sh", import.meta.url).pathname;
  try {
    return execFileSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim().split("\n").at(-1) as string;
  } catch (err) {
    const e = err as { stderr?: string; status?: number };
    throw new Error(`${script} failed (exit ${e.status}):\n${e.stderr ?? ""}`, { cause: err });
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
}

export async function startTestApiServer(): Promise<TestApiServer> {
  const bin = kubeBinDir();
  const dir = mkdtempSync(join(tmpdir(), "kube-apiserver-"));
  openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=test-ca");
  writeFileSync(join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=kube-apiserver");
  openssl(dir, "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "1", "-extfile", "server.ext");
  writeFileSync(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
  openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "admin.key", "-out", "admin.csr", "-subj", "/O=system:masters/CN=admin");
  openssl(dir, "x509", "-req", "-in", "admin.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "admin.crt", "-days", "1", "-extfile", "client.ext");
  openssl(dir, "genrsa", "-out", "sa.key", "2048");

  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const processes: ChildProcess[] = [];
  const run = (name: string, args: string[]) => {
    const child = spawn(join(bin, name), args, { cwd: dir, detached: true, stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    child.stderr?.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
    processes.push(child);
    return () => log;
  };
  run("etcd", [`--data-dir=${join(dir, "etcd")}`, `--listen-client-urls=http://127.0.0.1:${etcdPort}`, `--advertise-client-urls=http://127.0.0.1:${etcdPort}`, `--listen-peer-urls=http://127.0.0.1:${peerPort}`, "--unsafe-no-fsync=true"]);
  const url = `https://127.0.0.1:${apiPort}`;
  const apiLog = run("kube-apiserver", [
    "--advertise-address=127.0.0.1", "--bind-address=127.0.0.1", `--secure-port=${apiPort}`, `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    `--cert-dir=${dir}`, "--tls-cert-file=server.crt", "--tls-private-key-file=server.key", "--client-ca-file=ca.crt",
    `--service-account-issuer=${url}`, "--service-account-key-file=sa.key", "--service-account-signing-key-file=sa.key",
    "--authorization-mode=RBAC", "--service-cluster-ip-range=10.0.0.0/24", "--disable-admission-plugins=ServiceAccount",
  ]);
  const stop = async () => {
    for (const p of processes.reverse()) {
      try {
        process.kill(-(p.pid as number), "SIGKILL");
      } catch {
        // already gone
      }
    }
    await Promise.all(processes.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once("exit", r)) : Promise.resolve())));
  };

  const ca = readFileSync(join(dir, "ca.crt"), "utf8");
  const dispatcher = new Agent({ connect: { ca, cert: readFileSync(join(dir, "admin.crt")), key: readFileSync(join(dir, "admin.key")) } });
  const api: TestApiServer["api"] = async (method, path, body) => {
    const res = await fetch(`${url}${path}`, { method, dispatcher, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  };
  const deadline = Date.now() + 120_000;
  for (;;) {
    const ready = await api("GET", "/readyz").catch(() => ({ status: 0 }));
    if (ready.status === 200) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`kube-apiserver did not become ready:\n${apiLog().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    caFile: join(dir, "ca.crt"),
    api,
    async token(namespace, serviceAccount, audiences) {
      const res = await api("POST", `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`, { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { audiences, expirationSeconds: 3600 } });
      const token = (res.body.status as { token?: string } | undefined)?.token;
      if (!token) throw new Error(`TokenRequest failed: ${res.status} ${JSON.stringify(res.body)}`);
      return token;
    },
    stop,
  };
}
