// The McpPolicy cache every replica keeps: the webhook reads it on each admission, and the controller
// is told of each change while it runs (it keeps no watch of its own).
import type { Clock } from "../kube/clock.ts";
import type { KubeHttp } from "../kube/http.ts";
import { Informer } from "../kube/informer.ts";
import type { Logger } from "../kube/logger.ts";
import { API_GROUP, API_VERSION } from "../policy/schema.ts";
import type { Controller } from "./controller/controller.ts";
import { MCP_POLICY_PLURAL } from "./crd/mcppolicy-crd.ts";
import { policyEntry, type McpPolicyObject, type PolicyIndex } from "./policy-index.ts";

export interface PolicyWatch {
  http: KubeHttp;
  index: PolicyIndex;
  controller: Controller;
  clock: Clock;
  logger: Logger;
}

/** An informer over every McpPolicy that keeps `index` current and tells `controller`; not yet started. */
export function watchPolicies({ http, index, controller, clock, logger }: PolicyWatch): Informer<McpPolicyObject> {
  const policies = new Informer<McpPolicyObject>({
    http,
    path: `/apis/${API_GROUP}/${API_VERSION}/${MCP_POLICY_PLURAL}`,
    clock,
    logger,
  });
  return policies
    .on("add", (object) => controller.policyChanged(indexPolicy(index, object), undefined))
    .on("update", (object) => {
      const entry = policyEntry(object);
      controller.policyChanged(entry, index.set(entry));
    })
    .on("delete", (object) => {
      const gone = index.delete(object.metadata?.namespace ?? "", object.metadata?.name ?? "");
      if (gone) controller.policyDeleted(gone);
    });
}

function indexPolicy(index: PolicyIndex, object: McpPolicyObject) {
  const entry = policyEntry(object);
  index.set(entry);
  return entry;
}
