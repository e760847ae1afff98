// The policy engine's heavy libraries, each loaded the first time a policy needs it: CEL (with
// protobuf and RE2 behind it) for `require`/`denyIf`/conditions, Ajv for argument schemas and the
// arguments a tool declares, ajv-formats' patterns for `format`, re2js for result detectors. A policy
// that only names tools loads none of them, so a sidecar carries what its policy uses (ADR 0940).
// They are required synchronously, because compiling a policy is synchronous (nothing can fail to
// compile at call time): each package's CommonJS build (Node 24 would load an ES-only package through
// require() as well). Every module of the project takes them from here, so there is one instance of
// each. Types come from type-only imports of the packages, which load nothing.
import { createRequire } from "node:module";
import type * as Cel from "@bufbuild/cel";
import type * as CelExtensions from "@bufbuild/cel/ext";
import type * as Re2 from "@bufbuild/re2";
import type * as Re2js from "re2js";
import type * as AjvDraft07 from "ajv";
import type * as Ajv2019 from "ajv/dist/2019.js";
import type * as Ajv2020 from "ajv/dist/2020.js";
import type * as AjvFormats from "ajv-formats/dist/formats.js";

const require = createRequire(import.meta.url);

/** A value computed on the first call and kept. */
function once<T>(load: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= load());
}

export const celLibrary = once(() => require("@bufbuild/cel") as typeof Cel);
export const celStringsExtension = once(() => (require("@bufbuild/cel/ext") as typeof CelExtensions).strings);
/** RE2 as CEL's `matches()` runs it (the same module instance @bufbuild/cel loads). */
export const re2Library = once(() => (require("@bufbuild/re2") as typeof Re2).RE2JS);
/** re2js, whose matcher reports match positions (result detectors redact them). */
export const re2jsLibrary = once(() => (require("re2js") as typeof Re2js).RE2JS);
export const ajvLibrary = once(() => require("ajv") as typeof AjvDraft07);
export const ajv2019Library = once(() => require("ajv/dist/2019.js") as typeof Ajv2019);
export const ajv2020Library = once(() => require("ajv/dist/2020.js") as typeof Ajv2020);
export const ajvFormatsLibrary = once(() => require("ajv-formats/dist/formats.js") as typeof AjvFormats);
