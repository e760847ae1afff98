// The bounded vocabulary of injection decisions: metric labels, Event reasons and log fields.
export type InjectionResult = "injected" | "skipped" | "rejected" | "error";

export type SkipReason =
  "system_namespace" | "opted_out" | "host_network" | "already_injected" | "not_selected" | "not_a_pod_create";

export type RejectReason =
  | "conflicting_policies"
  | "invalid_override"
  | "ambiguous_container"
  | "ambiguous_port"
  | "missing_upstream_port"
  | "port_conflict"
  | "reserved_name";

export type ErrorReason = "not_ready" | "internal_error" | "bad_request";

export type InjectionReason = "injected" | SkipReason | RejectReason | ErrorReason;
