// A caller's grant (its `scope: grant` budget, its sessions, `caller.grant` in CEL) names the identity
// method it came from, so no name from one method can equal a name from another: an API key named
// `system:serviceaccount:agents:bot`, a JWT whose subject is `alice` and the API key `alice` are
// three different grants. `caller.sub` stays the bare name for rules that want it. Anonymous callers
// share the one grant `anonymous` (ANONYMOUS_CALLER in policy/decision.ts), which has no prefix and so
// equals no grant of an identity method.

/** The grant of an API key, by its name in the grants file. */
export function apiKeyGrant(name: string): string {
  return `apikey:${name}`;
}

/** The grant of a JWT, by its subject (a policy accepts tokens of exactly one issuer). */
export function jwtGrant(subject: string): string {
  return `jwt:${subject}`;
}

/**
 * The grant of a Kubernetes service account: `k8s:` and its Kubernetes user name
 * (`system:serviceaccount:<namespace>:<name>`), so the API server can still tell that an approver is
 * the caller itself (operator/rbac/approver-role.ts).
 */
export function serviceAccountGrant(namespace: string, name: string): string {
  return `k8s:system:serviceaccount:${namespace}:${name}`;
}
