// A corpus of true and false positives for every built-in detector, made deterministically (a fixed
// seed; real keys from node:crypto). A true positive is a text and the secret in it that redaction
// must remove; a false positive is a text the detector must not match: near misses (a card number
// whose check digit is wrong, an IBAN with wrong check digits, base64 blobs and public keys that are
// no private keys, hashes and identifiers that are not random).
import { generateKeyPairSync, createHmac } from "node:crypto";

export interface TruePositive {
  readonly text: string;
  readonly secret: string;
}

export interface DetectorCorpus {
  readonly truePositives: readonly TruePositive[];
  readonly falsePositives: readonly string[];
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const DIGITS = "0123456789";
const ALNUM = UPPER + LOWER + DIGITS;
const BASE64 = ALNUM + "+/";
const HEX = "0123456789abcdef";

function maker(seed: number) {
  const random = rng(seed);
  const pick = (chars: string, n: number): string => {
    let s = "";
    for (let i = 0; i < n; i++) s += chars[Math.floor(random() * chars.length)];
    return s;
  };
  const int = (n: number) => Math.floor(random() * n);
  return { pick, int };
}

const range = (n: number) => [...Array(n).keys()];
const tp = (text: string, secret: string): TruePositive => ({ text, secret });
/** As a JSON text would carry it (FastMCP puts a tool's dict into text content as JSON). */
const jsonEscaped = (s: string) => JSON.stringify(s).slice(1, -1);

function privateKeys(): DetectorCorpus {
  const pems: string[] = [];
  for (const modulusLength of [1024, 1024]) {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength });
    pems.push(
      privateKey.export({ type: "pkcs1", format: "pem" }) as string,
      privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    );
  }
  for (const namedCurve of ["P-256", "P-384", "secp256k1"]) {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve });
    pems.push(
      privateKey.export({ type: "sec1", format: "pem" }) as string,
      privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    );
  }
  for (const kind of ["ed25519", "x25519", "ed448"] as const) {
    const { privateKey } = generateKeyPairSync(kind as "ed25519");
    pems.push(privateKey.export({ type: "pkcs8", format: "pem" }) as string);
  }
  const { privateKey: encrypted } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  pems.push(encrypted.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "corpus" }) as string);
  const { pick } = maker(1);
  pems.push(
    `-----BEGIN OPENSSH PRIVATE KEY-----\n${pick(BASE64, 70)}\n${pick(BASE64, 70)}\n-----END OPENSSH PRIVATE KEY-----\n`,
  );
  pems.push(
    `-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n${pick(BASE64, 64)}\n=${pick(BASE64, 4)}\n-----END PGP PRIVATE KEY BLOCK-----`,
  );
  const truePositives = [
    ...pems.map((pem) => tp(`key file:\n${pem}\nend`, pem.trim())),
    ...pems.slice(0, 6).map((pem) => tp(`{"value": "${jsonEscaped(pem.trim())}"}`, jsonEscaped(pem.trim()))),
  ];
  const publicKeys = range(6).map(() => {
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    return publicKey.export({ type: "spki", format: "pem" }) as string;
  });
  const falsePositives = [
    ...publicKeys,
    ...range(6).map(
      (i) =>
        `-----BEGIN CERTIFICATE-----\n${maker(10 + i).pick(BASE64, 64)}\n${maker(20 + i).pick(BASE64, 40)}==\n-----END CERTIFICATE-----`,
    ),
    ...range(6).map((i) => `attachment: ${maker(30 + i).pick(BASE64, 400)}==`),
    "Store the PRIVATE KEY in a Secret, never in a ConfigMap.",
    "BEGIN RSA PRIVATE KEY without the dashes is only words",
    "-----BEGIN PUBLIC KEY-----",
    "-----BEGIN RSA PUBLIC KEY-----\nMIIBCgKCAQEA\n-----END RSA PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE REQUEST-----\nMIICWjCCAUICAQAw\n-----END CERTIFICATE REQUEST-----",
    "----BEGIN PRIVATE KEY----",
  ];
  return { truePositives, falsePositives };
}

function awsAccessKeyIds(): DetectorCorpus {
  const { pick } = maker(2);
  const prefixes = ["AKIA", "ASIA", "AKIA", "AIDA", "AROA"];
  return {
    truePositives: range(22).map((i) => {
      const key = `${prefixes[i % prefixes.length]}${pick(UPPER + DIGITS, 16)}`;
      return tp(i % 2 ? `AWS_ACCESS_KEY_ID=${key}` : `{"accessKeyId":"${key}","region":"eu-west-1"}`, key);
    }),
    falsePositives: [
      ...range(8).map(() => `AKIA${pick(UPPER + DIGITS, 15)}`),
      ...range(6).map(() => `XAKIA${pick(UPPER + DIGITS, 16)}`),
      ...range(6).map(() => `AKIB${pick(UPPER + DIGITS, 16)}`),
      `akia${pick(LOWER, 16)}`,
      `AKIA${pick(UPPER, 16)}X9`,
    ],
  };
}

function awsSecretKeys(): DetectorCorpus {
  const { pick } = maker(3);
  const names = [
    "aws_secret_access_key",
    "AWS_SECRET_ACCESS_KEY",
    "awsSecretAccessKey",
    "aws.secret.key",
    "aws-secret-key",
  ];
  return {
    truePositives: range(22).map((i) => {
      const key = pick(BASE64, 40);
      const name = names[i % names.length] as string;
      const text = [`${name} = ${key}`, `"${name}": "${key}"`, `${name}: ${key}\n`, `export ${name}='${key}'`][
        i % 4
      ] as string;
      return tp(text, key);
    }),
    falsePositives: [
      ...range(8).map(() => `aws_secret_access_key = ${pick(BASE64, 39)}`),
      ...range(6).map(() =>
        `aws_region = ${pick(LOWER, 40)}X${pick(BASE64, 2)}`.replace("aws_region", "aws_region_name"),
      ),
      ...range(4).map(() => `secret_access_key = ${pick(BASE64, 40)}`),
      "aws secret access key rotation is due",
      "aws_secret_access_key = <your key here>",
    ],
  };
}

function gcpApiKeys(): DetectorCorpus {
  const { pick } = maker(4);
  return {
    truePositives: range(22).map((i) => {
      const key = `AIza${pick(ALNUM + "_-", 35)}`;
      return tp(i % 2 ? `key=${key}&q=1` : `"apiKey": "${key}"`, key);
    }),
    falsePositives: [
      ...range(10).map(() => `AIza${pick(ALNUM, 20)}`),
      ...range(6).map(() => `AIzb${pick(ALNUM, 35)}`),
      ...range(4).map(() => `aiza${pick(ALNUM, 35)}`),
    ],
  };
}

function gcpServiceAccountKeys(): DetectorCorpus {
  const { pick } = maker(5);
  return {
    truePositives: range(22).map((i) => {
      const id = pick(HEX, 40);
      const doc = `{"type": "service_account", "project_id": "p", "private_key_id": "${id}", "client_email": "x"}`;
      return tp(i % 2 ? doc : jsonEscaped(doc), id);
    }),
    falsePositives: [
      ...range(8).map(() => `"private_key_id": "${pick(HEX, 39)}"`),
      ...range(6).map(() => `"private_key_id": "${pick(HEX.toUpperCase(), 40)}"`),
      ...range(6).map(() => `"key_id": "${pick(HEX, 40)}"`),
    ],
  };
}

function azureStorageKeys(): DetectorCorpus {
  const { pick } = maker(6);
  return {
    truePositives: range(22).map((i) => {
      const key = `${pick(BASE64, 86)}==`;
      const text =
        i % 2
          ? `DefaultEndpointsProtocol=https;AccountName=acct${i};AccountKey=${key};EndpointSuffix=core.windows.net`
          : `Endpoint=sb://ns${i}.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=${pick(BASE64, 43)}=`;
      return tp(text, i % 2 ? key : text.slice(text.lastIndexOf("=", text.length - 2) + 1));
    }),
    falsePositives: [
      ...range(8).map((i) => `DefaultEndpointsProtocol=https;AccountName=acct${i};EndpointSuffix=core.windows.net`),
      ...range(6).map(() => `AccountKey=${pick(BASE64, 20)}`),
      ...range(6).map(() => `SharedAccessKeyName=${pick(ALNUM, 50)}`),
    ],
  };
}

function azureClientSecrets(): DetectorCorpus {
  const { pick } = maker(7);
  const chars = ALNUM + "_~.-";
  return {
    truePositives: range(22).map((i) => {
      const secret = `${pick(ALNUM, 3)}${pick(DIGITS, 1)}Q~${pick(chars, 34)}`;
      return tp(i % 2 ? `AZURE_CLIENT_SECRET=${secret}` : `"clientSecret": "${secret}"`, secret.slice(0, 40));
    }),
    falsePositives: [
      ...range(8).map(() => `${pick(ALNUM, 3)}${pick(DIGITS, 1)}Q-${pick(chars, 34)}`),
      ...range(6).map(() => `${pick(ALNUM, 3)}${pick(DIGITS, 1)}Q~${pick(chars, 10)}`),
      ...range(6).map(() => `${pick(ALNUM, 3)}${pick(UPPER, 1)}Q~ ${pick(chars, 34)}`),
    ],
  };
}

function githubTokens(): DetectorCorpus {
  const { pick } = maker(8);
  const prefixes = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"];
  return {
    truePositives: [
      ...range(18).map((i) => {
        const token = `${prefixes[i % 5]}${pick(ALNUM, 36)}`;
        return tp(`Authorization: token ${token}`, token);
      }),
      ...range(4).map(() => {
        const token = `github_pat_${pick(ALNUM + "_", 82)}`;
        return tp(`GITHUB_TOKEN=${token}`, token);
      }),
    ],
    falsePositives: [
      ...range(8).map(() => `ghp_${pick(ALNUM, 20)}`),
      ...range(6).map(() => `ghx_${pick(ALNUM, 36)}`),
      ...range(6).map(() => `ghp-${pick(ALNUM, 36)}`),
      `github_pat_${pick(ALNUM, 40)}`,
    ],
  };
}

function gitlabTokens(): DetectorCorpus {
  const { pick } = maker(9);
  const prefixes = ["glpat", "glptt", "gldt", "glrt", "glsoat"];
  return {
    truePositives: range(22).map((i) => {
      const token = `${prefixes[i % 5]}-${pick(ALNUM + "_-", 20 + (i % 7))}`;
      return tp(`PRIVATE-TOKEN: ${token}`, token);
    }),
    falsePositives: [
      ...range(8).map(() => `glpat-${pick(ALNUM, 10)}`),
      ...range(6).map(() => `glxyz-${pick(ALNUM, 25)}`),
      ...range(6).map(() => `xglpat-${pick(ALNUM, 25)}`),
    ],
  };
}

function slackTokens(): DetectorCorpus {
  const { pick } = maker(11);
  const kinds = ["xoxb", "xoxp", "xoxa", "xoxs", "xoxe"];
  return {
    truePositives: [
      ...range(16).map((i) => {
        const token = `${kinds[i % 5]}-${pick(DIGITS, 12)}-${pick(DIGITS, 12)}-${pick(ALNUM, 24)}`;
        return tp(`SLACK_TOKEN=${token}`, token);
      }),
      ...range(6).map(() => {
        const url = `https://hooks.slack.com/services/T${pick(UPPER + DIGITS, 8)}/B${pick(UPPER + DIGITS, 8)}/${pick(ALNUM, 24)}`;
        return tp(`webhook: ${url}`, url);
      }),
    ],
    falsePositives: [
      ...range(8).map(() => `xoxz-${pick(DIGITS, 12)}-${pick(ALNUM, 24)}`),
      ...range(6).map(() => `xoxb-${pick(DIGITS, 5)}`),
      ...range(6).map(() => `https://hooks.slack.com/help/${pick(LOWER, 6)}`),
    ],
  };
}

function jwts(): DetectorCorpus {
  const { pick, int } = maker(12);
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const token = (header: unknown, payload: unknown) => {
    const body = `${b64(header)}.${b64(payload)}`;
    return `${body}.${createHmac("sha256", pick(ALNUM, 16)).update(body).digest("base64url")}`;
  };
  return {
    truePositives: range(22).map((i) => {
      const t = token(
        { alg: ["HS256", "RS256", "ES256"][i % 3], typ: "JWT" },
        { sub: pick(LOWER, 8), iat: 1_700_000_000 + int(1e6), aud: "kestra" },
      );
      return tp(i % 2 ? `Bearer ${t}` : `{"id_token":"${t}"}`, t);
    }),
    falsePositives: [
      ...range(8).map(() => `eyJ${pick(ALNUM, 20)}.eyJ${pick(ALNUM, 20)}.${pick(ALNUM, 20)}`),
      ...range(6).map(() => `${b64({ typ: "JWT" })}.${b64({ sub: "x" })}.${pick(ALNUM, 20)}`),
      ...range(6).map(() => `${b64({ alg: "HS256" })}.${pick(ALNUM, 3)}`),
      "eyJhbGciOiJIUzI1NiJ9 is only a header",
    ],
  };
}

function passwordAssignments(): DetectorCorpus {
  const { pick } = maker(13);
  const names = [
    "password",
    "PASSWORD",
    "passwd",
    "pwd",
    "secret",
    "client_secret",
    "api_key",
    "apiKey",
    "access_token",
    "auth-token",
    "token",
  ];
  return {
    truePositives: range(22).map((i) => {
      const value = `${pick(ALNUM, 8)}!${pick(DIGITS, 2)}`;
      const name = names[i % names.length] as string;
      const text = [
        `${name}=${value}`,
        `"${name}": "${value}"`,
        `${name}: ${value}`,
        `\\"${name}\\": \\"${value}\\"`,
        `jdbc?user=app&${name}=${value}`,
        `DB_${name.toUpperCase()}=${value}`,
      ][i % 6] as string;
      return tp(text, value);
    }),
    falsePositives: [
      "password reset link sent to the user",
      "passwords are stored hashed with argon2",
      "secretary: Jane Doe",
      "password=abc",
      "tokenizer: bert-base",
      "the secret to good bread is time",
      "token count: 512",
      "api_key rotation is scheduled monthly",
      "secrets: []",
      "password: ''",
      "keyword: pwd123",
      "my_password_policy=strict-mode",
      "forgot your password? click here",
      "secret-manager: vault",
      "passwordless login is enabled",
      "token_type=bearer",
      'password = ""',
      "Please enter your password below.",
      "The token expired.",
      "private_key_path=",
    ],
  };
}

function highEntropy(): DetectorCorpus {
  const { pick } = maker(14);
  return {
    truePositives: range(22).map((i) => {
      const s = pick(BASE64, 32 + (i % 4) * 8);
      return tp(i % 2 ? `value: ${s}` : `{"v":"${s}"}`, s);
    }),
    falsePositives: [
      ...range(6).map(() => pick(HEX, 64)),
      ...range(4).map(() => `${pick(HEX, 8)}-${pick(HEX, 4)}-4${pick(HEX, 3)}-a${pick(HEX, 3)}-${pick(HEX, 12)}`),
      "io.kestra.plugin.scripts.python.Commands",
      "ThisIsAVeryLongJavaClassNameWithoutAnyDigitsInIt",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1",
      "abababababababababababababababab12",
      "company.team.production.pipelines.daily-sales-report",
      "/usr/local/lib/python3/site-packages/kestra/__init__",
      "snake_case_identifier_for_namespace_files_v2",
      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
      "0000000000000000000000000000000000000000",
      "dev.team-a.flows.ingest-orders-from-erp-2024",
      "=".repeat(40),
      "1234567890123456789012345678901234567890",
    ],
  };
}

function emails(): DetectorCorpus {
  const { pick } = maker(15);
  const domains = ["example.com", "kestra.io", "mail.example.co.uk", "sub-domain.example.org", "corp.internal.example"];
  return {
    truePositives: range(22).map((i) => {
      const address = `${pick(LOWER, 5)}${[".", "_", "+", "-", ""][i % 5]}${pick(LOWER + DIGITS, 4)}@${domains[i % 5]}`;
      return tp(i % 2 ? `contact ${address} today` : `"owner":"${address}"`, address);
    }),
    falsePositives: [
      "user@localhost",
      "@kestra-io on GitHub",
      "a@b",
      "name at example dot com",
      "email: (hidden)",
      "foo@bar.",
      "x@.com",
      "@@example.com",
      "user@example.c",
      "ping me @ noon",
      "version@1.2.3",
      "pkg@^2.0.0",
      "git@github",
      "root@host-01",
      "test@123",
      "info[at]example.org",
      "@example.com",
      "user@@example.com",
      "mailto:",
      "user @ example.com",
    ],
  };
}

const IBAN_SAMPLES: readonly [string, number][] = [
  ["DE", 22],
  ["GB", 22],
  ["FR", 27],
  ["NL", 18],
  ["ES", 24],
  ["IT", 27],
  ["BE", 16],
  ["CH", 21],
  ["AT", 20],
  ["PL", 28],
  ["SE", 24],
];

function ibanWithCheck(country: string, bban: string): string {
  const numeric = [...`${bban}${country}00`].map((c) => (c >= "A" ? String(c.charCodeAt(0) - 55) : c)).join("");
  let r = 0;
  for (const d of numeric) r = (r * 10 + Number(d)) % 97;
  return `${country}${String(98 - r).padStart(2, "0")}${bban}`;
}

function ibans(): DetectorCorpus {
  const { pick } = maker(16);
  const valid = range(22).map((i) => {
    const [country, length] = IBAN_SAMPLES[i % IBAN_SAMPLES.length] as [string, number];
    const bban =
      country === "GB" || country === "NL" ? pick(UPPER, 4) + pick(DIGITS, length - 8) : pick(DIGITS, length - 4);
    return ibanWithCheck(country, bban);
  });
  const grouped = (iban: string) => iban.replace(/(.{4})/g, "$1 ").trim();
  return {
    truePositives: valid.map((iban, i) =>
      i % 2 ? tp(`IBAN ${grouped(iban)}.`, grouped(iban)) : tp(`"iban":"${iban}"`, iban),
    ),
    falsePositives: valid
      .map((iban) => {
        const check = Number(iban.slice(2, 4));
        return `${iban.slice(0, 2)}${String(((check + 1) % 97) + 2).padStart(2, "0")}${iban.slice(4)}`;
      })
      .concat(["XX82WEST12345698765432", "DE8937040044053201300"]),
  };
}

function luhnDigit(body: string): number {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

function cards(): DetectorCorpus {
  const { pick } = maker(17);
  const prefixes: [string, number][] = [
    ["4", 16],
    ["51", 16],
    ["55", 16],
    ["2221", 16],
    ["34", 15],
    ["37", 15],
    ["6011", 16],
    ["35", 16],
    ["4", 13],
    ["62", 19],
  ];
  const valid = range(22).map((i) => {
    const [prefix, length] = prefixes[i % prefixes.length] as [string, number];
    const body = prefix + pick(DIGITS, length - prefix.length - 1);
    return body + String(luhnDigit(body));
  });
  const spaced = (n: string) => n.replace(/(.{4})/g, "$1 ").trim();
  return {
    truePositives: valid.map((n, i) =>
      i % 3 === 0
        ? tp(`card ${spaced(n)} exp 12/29`, spaced(n))
        : i % 3 === 1
          ? tp(`"pan":"${n}"`, n)
          : tp(`pan=${n.replace(/(.{4})/g, "$1-").replace(/-$/, "")}`, n.replace(/(.{4})/g, "$1-").replace(/-$/, "")),
    ),
    falsePositives: [
      ...valid.map((n) => n.slice(0, -1) + String((Number(n.slice(-1)) + 1) % 10)),
      "0000 0000 0000 0000",
      "call +1 555 0100 2000",
      "order 123456789012",
      "1111111111111111",
    ],
  };
}

export function detectorCorpus(): Readonly<Record<string, DetectorCorpus>> {
  return {
    "private-key": privateKeys(),
    "aws-access-key-id": awsAccessKeyIds(),
    "aws-secret-access-key": awsSecretKeys(),
    "gcp-api-key": gcpApiKeys(),
    "gcp-service-account-key": gcpServiceAccountKeys(),
    "azure-storage-key": azureStorageKeys(),
    "azure-client-secret": azureClientSecrets(),
    "github-token": githubTokens(),
    "gitlab-token": gitlabTokens(),
    "slack-token": slackTokens(),
    jwt: jwts(),
    "password-assignment": passwordAssignments(),
    "high-entropy": highEntropy(),
    email: emails(),
    iban: ibans(),
    "credit-card": cards(),
  };
}
