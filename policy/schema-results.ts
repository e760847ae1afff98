// The result side of the McpPolicy: what may come back from a tool. `results` rules (per tool rule,
// per glob and for allTools) name detectors to redact or to withhold on, bound the result's size and
// hold CEL conditions over the result; `detectors` adds the policy's own detectors to the built-in
// ones (policy/results/detectors.ts). Kept in a file of its own so schema.ts only wires it in.
import { z } from "zod";

/** Detector names: lower-case words joined by '-', as they appear in `[REDACTED:<name>]` and metric labels. */
export const DETECTOR_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

const detectorName = z
  .string()
  .min(1)
  .max(63)
  .regex(DETECTOR_NAME, "must be lower-case letters and digits joined by '-', such as aws-access-key-id");

export const ResultRules = z
  .strictObject({
    redact: z
      .array(detectorName)
      .max(64)
      .meta({ "x-kubernetes-list-type": "set" })
      .optional()
      .describe(
        "Detectors (or the groups secrets, personal-data, all) whose matches are replaced by [REDACTED:<detector>] in every string of the result " +
          "(text content, structuredContent string values), the result staying valid JSON.",
      ),
    denyIf: z
      .array(detectorName)
      .max(64)
      .meta({ "x-kubernetes-list-type": "set" })
      .optional()
      .describe(
        "Detectors (or groups) of which any match withholds the whole result: the agent gets an isError result naming the detectors, never the matched text.",
      ),
    maxBytes: z
      .int()
      .min(1)
      .max(64 * 1024 * 1024)
      .optional()
      .describe(
        "Largest answer (UTF-8 bytes of the JSON-RPC message) that passes; a larger result is replaced by an isError result that says the limit.",
      ),
    withholdIf: z
      .array(z.string().min(1).max(4096))
      .max(32)
      .optional()
      .describe(
        "CEL conditions over `result` (isError, content, structuredContent), `args`, `tool` and `caller`; any that holds withholds the result.",
      ),
    reason: z.string().max(1024).optional().describe("Added to the message of a withheld result."),
  })
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "has(self.redact) || has(self.denyIf) || has(self.maxBytes) || has(self.withholdIf)",
        message: "results has no effect: set redact, denyIf, maxBytes or withholdIf",
        reason: "FieldValueRequired",
      },
    ],
  })
  .describe("What may come back from the tools this entry names.");

export const Detector = z
  .strictObject({
    name: detectorName.describe(
      "Name shown in [REDACTED:<name>], metric labels and audit lines; must not be a built-in detector's or a group's name.",
    ),
    pattern: z
      .string()
      .min(1)
      .max(4096)
      .describe(
        "RE2 pattern (linear time, no backreferences or lookaround). When it has a group named secret, only that group is redacted.",
      ),
    validator: z
      .enum(["luhn", "iban", "entropy", "jwt"])
      .optional()
      .describe(
        "A check a match must also pass: luhn (card numbers), iban (mod-97), entropy (Shannon bits per character), jwt (header and payload decode to JSON).",
      ),
    minEntropy: z
      .number()
      .min(0)
      .max(8)
      .optional()
      .describe("With validator entropy: bits per character a match needs (default 4.2)."),
    description: z.string().max(1024).optional(),
  })
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "!has(self.minEntropy) || (has(self.validator) && self.validator == 'entropy')",
        message: "minEntropy only applies with validator entropy",
        fieldPath: ".minEntropy",
        reason: "FieldValueForbidden",
      },
    ],
  })
  .describe("A detector of the policy's own.");

export type ResultRulesSpec = z.infer<typeof ResultRules>;
export type DetectorSpec = z.infer<typeof Detector>;
