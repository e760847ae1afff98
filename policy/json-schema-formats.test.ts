import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { fastFormats, fullFormats } from "ajv-formats/dist/formats.js";
import { MAX_FORMAT_STRING_LENGTH, SAFE_FORMATS } from "./json-schema-formats.ts";

type Check = (value: string) => boolean;

function safe(name: string): Check {
  const format = SAFE_FORMATS[name];
  assert.ok(format !== undefined && format !== true && format.type === "string", `${name} is a string format`);
  return format.validate;
}

/** uri and uri-reference follow ajv-formats' fast grammar (see json-schema-formats.ts), the rest its full mode. */
const FAST = new Set(["uri", "uri-reference"]);

function full(name: keyof typeof fullFormats): Check {
  const format = (FAST.has(name) ? fastFormats[name] : fullFormats[name]) as unknown;
  if (format instanceof RegExp) return (value) => format.test(value);
  if (typeof format === "function") return format as Check;
  return (format as { validate: Check }).validate;
}

/** Strings made of the characters a format's grammar cares about, short enough for the backtracking original. */
function grammarStrings(alphabet: string, samples: string[]): fc.Arbitrary<string> {
  const unit = fc.constantFrom(...alphabet);
  const mutated = fc
    .tuple(fc.constantFrom(...samples), fc.nat(60), fc.string({ unit, maxLength: 6 }), fc.nat(6))
    .map(([sample, at, insert, remove]) => {
      const i = at % (sample.length + 1);
      return sample.slice(0, i) + insert + sample.slice(i + remove);
    });
  return fc.oneof(fc.string({ unit, maxLength: 40 }), mutated, fc.constantFrom(...samples));
}

const CORPUS: Record<string, { alphabet: string; samples: string[] }> = {
  url: {
    alphabet: "htpsf:/.@-_a1b0z9É%?#=[]",
    samples: [
      "http://example.com",
      "https://a.b.co/x?y#z",
      "ftp://user:pw@host.example.org:21/f",
      "http://10.0.0.1/",
      "http://127.0.0.1",
      "http://169.254.1.1",
      "http://169.253.1.1",
      "http://192.168.1.1",
      "http://192.169.1.1",
      "http://172.16.0.1",
      "http://172.32.0.1",
      "http://172.15.0.1",
      "http://1.2.3.4",
      "http://223.255.255.254",
      "http://224.0.0.1",
      "http://100.64.0.0",
      "http://0.1.2.3",
      "http://localhost",
      "http://a-b.c-d.ex",
      "http://ÉÉ.com",
      "http://a..b.com",
      "http://u@v@w.com",
      "http://1.2.3.4:8080/x",
    ],
  },
  hostname: {
    alphabet: "ab0-.",
    samples: ["a", "a.b", "a-b.c", "-a", "a-", "a.", `${"a".repeat(63)}.b`, `${"a".repeat(64)}.b`, "a..b"],
  },
  duration: {
    alphabet: "PTYMDWHS0123",
    samples: ["P1D", "PT1H", "P", "PT", "P1DT", "P1W", "P1Y2M3DT4H5M6S", "P1W1D", "PT1H1D"],
  },
  email: { alphabet: "ab0.@-+_", samples: ["a@b.c", "a.b@c", "a..b@c", "a@b-.c", "a@-b.c", "@b.c", "a@"] },
  uri: {
    alphabet: "ab:/?#%[]0.@-",
    samples: ["a:b", "http://x/y?z#f", "http://[::1]/", "mailto:a@b", "//x", "a", "http://x/%zz"],
  },
  "uri-reference": { alphabet: "ab:/?#%[]0.@-", samples: ["a:b", "//x/y", "#f", "../a", "http://x y", "%41"] },
  "date-time": {
    alphabet: "0123456789-:TZtz+. ",
    samples: ["2024-02-29T12:00:00Z", "2023-02-29T12:00:00Z", "2024-01-01 00:00:00+01:00", "2024-01-01T23:59:60Z"],
  },
  date: { alphabet: "0123456789-", samples: ["2024-02-29", "2023-02-29", "2024-13-01", "2024-12-31"] },
  time: {
    alphabet: "0123456789:Zz+-.",
    samples: ["12:00:00Z", "23:59:60Z", "15:59:60-08:00", "24:00:00Z", "12:00:00"],
  },
  ipv4: { alphabet: "0123456789.", samples: ["1.2.3.4", "256.1.1.1", "01.2.3.4", "1.2.3"] },
  ipv6: { alphabet: "0123456789abcdef:.", samples: ["::1", "1::", "1:2:3:4:5:6:7:8", "::ffff:1.2.3.4", "1:::2"] },
  uuid: {
    alphabet: "0123456789abcdef-",
    samples: ["123e4567-e89b-12d3-a456-426614174000", "123e4567e89b12d3a456426614174000"],
  },
  "json-pointer": { alphabet: "/~01a", samples: ["", "/a", "/a~1b", "/a~2", "a"] },
  "relative-json-pointer": { alphabet: "/~01a#", samples: ["0", "1/a", "0#", "01"] },
  "uri-template": { alphabet: "ab{}+,:*%/", samples: ["/a/{b}", "{+x,y:3}", "{a", "%zz"] },
};

for (const [name, { alphabet, samples }] of Object.entries(CORPUS)) {
  test(`format ${name} on RE2 accepts exactly what ajv-formats accepts (${FAST.has(name) ? "fast" : "full"} mode)`, () => {
    const mine = safe(name);
    const theirs = full(name as keyof typeof fullFormats);
    for (const sample of samples) assert.equal(mine(sample), theirs(sample), `${name}: ${JSON.stringify(sample)}`);
    fc.assert(
      fc.property(grammarStrings(alphabet, samples), (value) => mine(value) === theirs(value)),
      { numRuns: 2000 },
    );
  });
}

test("byte is base64 of the whole string (ajv-formats' multiline flag let any empty line pass)", () => {
  const byte = safe("byte");
  assert.equal(byte("aGVsbG8="), true);
  assert.equal(byte("aGVsbG8"), false);
  assert.equal(byte("!!!\n"), false);
  assert.equal(full("byte")("!!!\n"), true, "the behaviour this replaces");
});

/** The inputs that make backtracking regexes go quadratic or worse, at the bound. */
function attacks(length: number): string[] {
  const fill = (prefix: string, unit: string, suffix = "!") =>
    prefix +
    unit
      .repeat(Math.ceil((length - prefix.length - suffix.length) / unit.length))
      .slice(0, length - prefix.length - suffix.length) +
    suffix;
  return [
    fill("http://", ":"),
    fill("http://", "a-"),
    fill("http://", "a."),
    fill("http://a", "@:"),
    fill("a@", "a-"),
    fill("a@", "a."),
    fill("", "a."),
    fill("", "a-"),
    fill("P", "1D"),
    fill("", "1:"),
    fill("/", "~0"),
    fill("{", "a,"),
    fill("2024-01-01T00:00:00.", "1", "Q"),
  ];
}

test("every string format checks the worst inputs of the bound's length in linear time", () => {
  const inputs = attacks(MAX_FORMAT_STRING_LENGTH);
  for (const [name, format] of Object.entries(SAFE_FORMATS)) {
    if (format === true || format.type !== "string") continue;
    const check = format.validate;
    for (const input of inputs) {
      // The fastest of three runs: what the regex costs, not what a busy machine adds.
      let fastest = Infinity;
      for (let run = 0; run < 3; run++) {
        const started = performance.now();
        check(input);
        fastest = Math.min(fastest, performance.now() - started);
      }
      // ajv-formats' url takes ~70 ms on the first input, the RE2 grammar well under 5 ms.
      assert.ok(fastest < 30, `${name} took ${fastest.toFixed(1)} ms on ${JSON.stringify(input.slice(0, 24))}…`);
    }
  }
});

test("a string longer than the bound fails every string format without being read", () => {
  const long = "http://example.com/" + "a".repeat(MAX_FORMAT_STRING_LENGTH);
  assert.equal(safe("url")(long.slice(0, MAX_FORMAT_STRING_LENGTH)), true, "at the bound it is checked");
  for (const [name, format] of Object.entries(SAFE_FORMATS)) {
    if (format === true || format.type !== "string") continue;
    assert.equal(format.validate(long), false, name);
  }
});
