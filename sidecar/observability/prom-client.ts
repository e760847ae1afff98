// prom-client's metric classes, required from their own modules: prom-client's index loads, at
// import, every default metric (and through the CPU counter @opentelemetry/api), its Pushgateway
// client and its cluster aggregator, none of which the sidecar uses (ADR 0940). The modules are the
// ones the index itself requires, so a registry or metric made here is the same class as prom-client's.
import { createRequire } from "node:module";
import type * as PromClient from "prom-client";

const require = createRequire(import.meta.url);

export const Registry = require("prom-client/lib/registry") as typeof PromClient.Registry;
export type Registry<T extends PromClient.RegistryContentType = PromClient.PrometheusContentType> =
  PromClient.Registry<T>;
export const Counter = require("prom-client/lib/counter") as typeof PromClient.Counter;
export type Counter<T extends string = string> = PromClient.Counter<T>;
export const Gauge = require("prom-client/lib/gauge") as typeof PromClient.Gauge;
export type Gauge<T extends string = string> = PromClient.Gauge<T>;
export const Histogram = require("prom-client/lib/histogram") as typeof PromClient.Histogram;
export type Histogram<T extends string = string> = PromClient.Histogram<T>;
export type { LabelValues, Metric, OpenMetricsContentType } from "prom-client";
