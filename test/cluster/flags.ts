// Command lines of the control-plane components: close to what kubeadm runs, bound to loopback,
// with state in the control plane's temp dir. Flags are a name → value map so that a test's
// overrides replace a default instead of repeating it (repeated array flags would accumulate).
import { join } from "node:path";

export type Flags = Record<string, string>;

export function commandLine(flags: Flags): string[] {
  return Object.entries(flags).map(([name, value]) => `--${name}=${value}`);
}

export interface EtcdPorts {
  client: number;
  peer: number;
}

export function etcdFlags(dir: string, ports: EtcdPorts): Flags {
  const peer = `http://127.0.0.1:${ports.peer}`;
  return {
    name: "mcp-warden-test",
    "data-dir": join(dir, "etcd"),
    "listen-client-urls": `http://127.0.0.1:${ports.client}`,
    "advertise-client-urls": `http://127.0.0.1:${ports.client}`,
    "listen-peer-urls": peer,
    "initial-advertise-peer-urls": peer,
    "initial-cluster": `mcp-warden-test=${peer}`,
    // Test data is disposable: skipping fsync makes writes fast on a shared disk.
    "unsafe-no-fsync": "true",
    "log-level": "warn",
  };
}

export interface ApiServerFiles {
  caCert: string;
  servingCert: string;
  servingKey: string;
  serviceAccountPublicKey: string;
  serviceAccountPrivateKey: string;
}

export function apiServerFlags(
  dir: string,
  port: number,
  etcdClientPort: number,
  files: ApiServerFiles,
  host = "127.0.0.1",
): Flags {
  return {
    "advertise-address": host,
    "bind-address": host,
    "secure-port": String(port),
    "etcd-servers": `http://127.0.0.1:${etcdClientPort}`,
    // Unused with explicit serving certificates, but the default is /var/run/kubernetes.
    "cert-dir": join(dir, "pki", "kube-apiserver"),
    "tls-cert-file": files.servingCert,
    "tls-private-key-file": files.servingKey,
    "client-ca-file": files.caCert,
    // An https issuer makes the API server serve OIDC discovery and the JWKS for its tokens.
    "service-account-issuer": `https://${host}:${port}`,
    "service-account-key-file": files.serviceAccountPublicKey,
    "service-account-signing-key-file": files.serviceAccountPrivateKey,
    "authorization-mode": "Node,RBAC",
    // On top of the defaults (NamespaceLifecycle, ServiceAccount, PodSecurity, MutatingAdmissionWebhook,
    // ValidatingAdmissionWebhook, ValidatingAdmissionPolicy, ResourceQuota, …), as kubeadm does.
    "enable-admission-plugins": "NodeRestriction",
    "service-cluster-ip-range": "10.0.0.0/24",
    // Privileged pods are allowed cluster-wide, as on kubeadm; Pod Security decides per namespace.
    "allow-privileged": "true",
    // Close open watches within 2 s on SIGTERM; without it a stop waits 60 s for watch connections.
    "shutdown-watch-termination-grace-period": "2s",
  };
}

export interface ControllerManagerFiles {
  kubeconfig: string;
  caCert: string;
  caKey: string;
  serviceAccountPrivateKey: string;
}

export function controllerManagerFlags(dir: string, files: ControllerManagerFiles): Flags {
  return {
    kubeconfig: files.kubeconfig,
    "bind-address": "127.0.0.1",
    // No serving port: readiness is judged by what the controllers do (the default ServiceAccount).
    "secure-port": "0",
    // Without leader election the controllers keep running through an API-server restart; with it,
    // the lost lease renewal would end the process after 10 s.
    "leader-elect": "false",
    // Each controller acts as its own service account, with the RBAC roles the API server bootstraps.
    "use-service-account-credentials": "true",
    "service-account-private-key-file": files.serviceAccountPrivateKey,
    "root-ca-file": files.caCert,
    "cluster-signing-cert-file": files.caCert,
    "cluster-signing-key-file": files.caKey,
    controllers: "*,bootstrapsigner,tokencleaner",
    // The default client rate limit (20/s) paces the start of ~40 controllers, each fetching its
    // service account's token: 5 s instead of 1 s before the first namespace is usable.
    "kube-api-qps": "100",
    "kube-api-burst": "200",
    // The default is a system folder (/usr/libexec/kubernetes/...), which the process would create.
    "flex-volume-plugin-dir": join(dir, "flexvolume"),
  };
}
