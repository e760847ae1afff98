// The built-in detectors: data, not code paths. Each is a name, an RE2 pattern (linear time: no
// backtracking, so no input can make a scan slow) and optionally a validator a match must pass. A
// pattern's group named `secret` is the part redacted (the value of `password: …`, not the word).
// Patterns avoid counted repetition of groups, which RE2's DFA would unroll into many states.
import type { ValidatorName } from "./validators.ts";

export interface DetectorDefinition {
  readonly name: string;
  readonly pattern: string;
  readonly validator?: ValidatorName | undefined;
  readonly minEntropy?: number | undefined;
  readonly description: string;
  /**
   * A cheap pre-check before the pattern runs: a match contains one of these (compared in lower
   * case), and is at least `minLength` long. Only for built-ins, whose patterns are known to need them.
   */
  readonly literals?: readonly string[] | undefined;
  readonly minLength?: number | undefined;
}

export const BUILTIN_DETECTORS: readonly DetectorDefinition[] = [
  {
    name: "private-key",
    literals: ["-----begin"],
    minLength: 30,
    // The body may be a JSON-escaped text (`\n` as two characters); an END line that is missing
    // (a cut-off key) still redacts what follows the BEGIN line.
    pattern:
      "-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY( BLOCK)?-----(?:[A-Za-z0-9+/=\\s:,.]|\\\\[nr]|-[A-Za-z0-9])*(?:-----END[A-Z0-9 ]{0,40} PRIVATE KEY( BLOCK)?-----)?",
    description: "PEM private keys (RSA, EC, DSA, OpenSSH, PKCS#8, PGP), from BEGIN to END.",
  },
  {
    name: "aws-access-key-id",
    literals: ["akia", "asia", "abia", "acca", "aida", "aroa", "agpa", "anpa", "anva", "apka"],
    minLength: 20,
    pattern: "\\b(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AGPA|ANPA|ANVA|APKA)[A-Z0-9]{16}\\b",
    description: "AWS access key ids.",
  },
  {
    name: "aws-secret-access-key",
    literals: ["aws"],
    minLength: 45,
    pattern:
      "(?i)aws[A-Za-z0-9_.-]{0,30}(?:secret|private)[A-Za-z0-9_.-]{0,20}\\\\?[\"']?\\s*[:=]\\s*\\\\?[\"']?(?P<secret>[A-Za-z0-9/+=]{40})(?:[^A-Za-z0-9/+=]|$)",
    description: "AWS secret access keys, where a name such as aws_secret_access_key assigns them.",
  },
  {
    name: "gcp-api-key",
    literals: ["aiza"],
    minLength: 39,
    pattern: "\\bAIza[0-9A-Za-z_-]{35}",
    description: "Google Cloud API keys.",
  },
  {
    name: "gcp-service-account-key",
    literals: ["private_key_id"],
    minLength: 55,
    pattern: "private_key_id\\\\?[\"']?\\s*[:=]\\s*\\\\?[\"']?(?P<secret>[a-f0-9]{40})\\b",
    description: "The key id of a Google service-account key file (its private_key is a PEM key).",
  },
  {
    name: "azure-storage-key",
    literals: ["accountkey=", "sharedaccesskey="],
    minLength: 50,
    pattern: "(?i)(?:AccountKey|SharedAccessKey)=(?P<secret>[A-Za-z0-9+/]{43,86}={0,2})",
    description: "Azure storage account and Service Bus keys in connection strings.",
  },
  {
    name: "azure-client-secret",
    literals: ["q~"],
    minLength: 37,
    pattern: "\\b[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}",
    description: "Azure (Entra ID) application client secrets.",
  },
  {
    name: "github-token",
    literals: ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
    minLength: 40,
    pattern: "\\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{82})\\b",
    description: "GitHub personal access, OAuth, app and refresh tokens.",
  },
  {
    name: "gitlab-token",
    literals: ["glpat-", "glptt-", "gldt-", "glrt-", "glsoat-", "glcbt-", "gloas-", "glffct-"],
    minLength: 25,
    pattern: "\\b(?:glpat|glptt|gldt|glrt|glsoat|glcbt|gloas|glffct)-[A-Za-z0-9_-]{20,}",
    description: "GitLab personal, pipeline, deploy, runner and OAuth tokens.",
  },
  {
    name: "slack-token",
    literals: ["xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-", "xoxe-", "hooks.slack.com"],
    minLength: 15,
    pattern:
      "\\bxox[abposre]-[A-Za-z0-9-]{10,250}|https://hooks\\.slack\\.com/(?:services|workflows)/[A-Za-z0-9+/_-]{20,}",
    description: "Slack bot, user and app tokens, and incoming webhook URLs.",
  },
  {
    name: "jwt",
    literals: ["eyj"],
    minLength: 16,
    pattern: "\\beyJ[A-Za-z0-9_-]{6,}\\.[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]*",
    validator: "jwt",
    description: "JSON Web Tokens (header and payload must decode to JSON).",
  },
  {
    name: "password-assignment",
    literals: ["passw", "pwd", "secret", "token", "key"],
    minLength: 7,
    pattern:
      "(?i)(?:password|passwd|pwd|secret|token|client[_-]?secret|api[_-]?key|apikey|access[_-]?token|auth[_-]?token|private[_-]?key)\\\\?[\"']?\\s*[:=]\\s*\\\\?[\"']?(?P<secret>[^\\s\"'\\\\,;&<>{}]{4,})",
    description: 'Values assigned to names such as password, secret, api_key (password=…, "secret": "…", secret: …).',
  },
  {
    name: "high-entropy",
    minLength: 32,
    // `=` only as padding at the end, so `NAME=value` is not one run.
    pattern: "[A-Za-z0-9+/_-]{32,}={0,2}",
    validator: "entropy",
    minEntropy: 4.2,
    description:
      "Random-looking strings of 32 or more base64 characters (at least 4.2 bits per character, letters and digits mixed).",
  },
  {
    name: "email",
    literals: ["@"],
    minLength: 6,
    // Unbounded runs, not {1,64}: counted repetition in an unanchored search multiplies DFA states.
    pattern: "\\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}\\b",
    description: "E-mail addresses.",
  },
  {
    name: "iban",
    minLength: 15,
    pattern: "\\b[A-Z]{2}[0-9]{2} ?[A-Z0-9]{4}(?: ?[A-Z0-9]{1,4}){2,7}\\b",
    validator: "iban",
    description: "International bank account numbers (country length and mod-97 check digits).",
  },
  {
    name: "credit-card",
    minLength: 13,
    pattern: "\\b[0-9][0-9 -]{11,21}[0-9]\\b",
    validator: "luhn",
    description: "Payment card numbers of 13 to 19 digits (Luhn check digit).",
  },
];

/** Names that stand for several detectors in `redact` and `denyIf`. */
export const DETECTOR_GROUPS: Readonly<Record<string, readonly string[]>> = {
  secrets: [
    "private-key",
    "aws-access-key-id",
    "aws-secret-access-key",
    "gcp-api-key",
    "gcp-service-account-key",
    "azure-storage-key",
    "azure-client-secret",
    "github-token",
    "gitlab-token",
    "slack-token",
    "jwt",
    "password-assignment",
    "high-entropy",
  ],
  "personal-data": ["email", "iban", "credit-card"],
};
