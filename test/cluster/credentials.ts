// Identities for tests beyond the admin: service-account tokens from the TokenRequest API (what the
// kubelet projects into a pod), and kubeconfigs for a plain user (client certificate, no RBAC until a
// test binds some) or a service account (bearer token), e.g. for "a user without RBAC gets 403".
import { join } from "node:path";
import type { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { writeKubeconfig } from "./kubeconfig.ts";
import type { CertificateAuthority } from "./pki.ts";

export interface ServiceAccountTokenOptions {
  /** The token's `aud`; omitted, the API server's own audience (its issuer), so it works against the API. */
  audiences?: string[];
  expirationSeconds?: number;
  /** Binds the token to a pod, as the kubelet does for projected tokens: it dies with the pod. */
  boundPod?: { name: string; uid: string };
}

export interface ServiceAccountToken {
  token: string;
  expirationTimestamp: Date;
}

export async function requestServiceAccountToken(
  core: CoreV1Api,
  namespace: string,
  serviceAccount: string,
  options: ServiceAccountTokenOptions = {},
): Promise<ServiceAccountToken> {
  const response = await core.createNamespacedServiceAccountToken({
    namespace,
    name: serviceAccount,
    body: {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: {
        audiences: options.audiences ?? [],
        expirationSeconds: options.expirationSeconds ?? 3600,
        ...(options.boundPod ? { boundObjectRef: { apiVersion: "v1", kind: "Pod", ...options.boundPod } } : {}),
      },
    },
  });
  const { token, expirationTimestamp } = response.status ?? {};
  if (!token || !expirationTimestamp)
    throw new Error(`TokenRequest for ${namespace}/${serviceAccount} returned no token`);
  return { token, expirationTimestamp: new Date(expirationTimestamp) };
}

export interface Credentials {
  /** The name the API server authenticates, e.g. "jane" or "system:serviceaccount:ns:name". */
  userName: string;
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
}

export interface CredentialContext {
  server: string;
  caPem: string;
  ca: CertificateAuthority;
  /** Where kubeconfig files and keys are written. */
  dir: string;
}

const fileStem = (name: string): string => name.replace(/[^A-Za-z0-9._-]/g, "_");

/** A client certificate for `userName` in `groups`, signed by the cluster CA, as a kubeconfig. */
export async function userCredentials(
  context: CredentialContext,
  userName: string,
  groups: string[] = [],
): Promise<Credentials> {
  const stem = `user-${fileStem(userName)}`;
  const certificate = await context.ca.issue({
    name: stem,
    commonName: userName,
    organizations: groups,
    usage: "client",
  });
  const kubeconfigPath = join(context.dir, `${stem}.kubeconfig`);
  const kubeConfig = await writeKubeconfig(kubeconfigPath, {
    server: context.server,
    caPem: context.caPem,
    userName,
    user: { clientCertPem: certificate.certPem, clientKeyPem: certificate.keyPem },
  });
  return { userName, kubeconfigPath, kubeConfig };
}

/** A kubeconfig that authenticates as a service account with a TokenRequest token (one hour by default). */
export async function serviceAccountCredentials(
  context: CredentialContext,
  core: CoreV1Api,
  namespace: string,
  serviceAccount: string,
  expirationSeconds = 3600,
): Promise<Credentials> {
  const { token } = await requestServiceAccountToken(core, namespace, serviceAccount, { expirationSeconds });
  const userName = `system:serviceaccount:${namespace}:${serviceAccount}`;
  const kubeconfigPath = join(context.dir, `sa-${fileStem(namespace)}-${fileStem(serviceAccount)}.kubeconfig`);
  const kubeConfig = await writeKubeconfig(kubeconfigPath, {
    server: context.server,
    caPem: context.caPem,
    userName,
    user: { token },
    namespace,
  });
  return { userName, kubeconfigPath, kubeConfig };
}
