import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseHostPort } from "./host-port.ts";
import { ConfigError, OptionValues, optionsHelp, type OptionSpec } from "./options.ts";

const OPTIONS: readonly OptionSpec[] = [
  { flag: "level", env: "X_LEVEL", value: "LEVEL", default: "info", help: "How much to say." },
  { flag: "listen", env: "X_LISTEN", value: "HOST:PORT", default: "0.0.0.0:80", help: "Where." },
  { flag: "host", env: "X_HOSTS", value: "NAME", repeatable: true, help: "More names." },
  { flag: "quiet", env: "X_QUIET", help: "A switch." },
  { flag: "ratio", env: "X_RATIO", value: "RATIO", help: "A share." },
  { flag: "file", value: "FILE", help: "No variable." },
];

describe("option tables", () => {
  it("take the flag, else the variable (empty counts as unset), else the default", () => {
    assert.equal(new OptionValues(OPTIONS, ["--level", "debug"], { X_LEVEL: "warn" }).text("level"), "debug");
    assert.equal(new OptionValues(OPTIONS, [], { X_LEVEL: "warn" }).text("level"), "warn");
    assert.equal(new OptionValues(OPTIONS, [], { X_LEVEL: "" }).text("level"), "info");
    assert.equal(new OptionValues(OPTIONS, [], {}).text("file"), undefined);
  });

  it("read repeatable flags, comma-separated variables and switches", () => {
    assert.deepEqual(new OptionValues(OPTIONS, ["--host", "a", "--host", "b"], { X_HOSTS: "c" }).list("host"), [
      "a",
      "b",
    ]);
    assert.deepEqual(new OptionValues(OPTIONS, [], { X_HOSTS: "c, d" }).list("host"), ["c", "d"]);
    assert.deepEqual(new OptionValues(OPTIONS, [], {}).list("host"), []);
    assert.equal(new OptionValues(OPTIONS, ["--quiet"], {}).switch("quiet"), true);
    assert.equal(new OptionValues(OPTIONS, [], { X_QUIET: "true" }).switch("quiet"), true);
    assert.equal(new OptionValues(OPTIONS, [], { X_QUIET: "0" }).switch("quiet"), false);
    assert.throws(
      () => new OptionValues(OPTIONS, [], { X_QUIET: "maybe" }).switch("quiet"),
      /--quiet \(from X_QUIET\) must be true or false, got "maybe"/,
    );
  });

  it("name the option, and the variable a bad value came from", () => {
    const bad = (argv: string[], env: NodeJS.ProcessEnv, read: (v: OptionValues) => unknown, pattern: RegExp) =>
      assert.throws(
        () => read(new OptionValues(OPTIONS, argv, env)),
        (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
        pattern.source,
      );
    bad(
      ["--level", "loud"],
      {},
      (v) => v.oneOf("level", ["info", "debug"]),
      /^--level must be one of info, debug, got "loud"$/,
    );
    bad(
      [],
      { X_LEVEL: "loud" },
      (v) => v.oneOf("level", ["info"]),
      /^--level \(from X_LEVEL\) must be one of info, got "loud"$/,
    );
    bad(["--ratio", "2"], {}, (v) => v.ratio("ratio"), /^--ratio must be a number from 0 to 1/);
    bad(["--listen", "80"], {}, (v) => v.hostPort("listen"), /^--listen must be HOST:PORT, got "80"$/);
    bad(["extra"], {}, () => undefined, /unexpected argument "extra"/);
  });

  it("list every option with its variable and default in --help", () => {
    const help = optionsHelp("x [options]", OPTIONS, ["Also read: Y."]);
    assert.match(help, /^usage: x \[options\]\n/);
    for (const o of OPTIONS) assert.match(help, new RegExp(`--${o.flag}\\b.*${o.env ?? ""}`));
    assert.match(help, /Default: 0\.0\.0\.0:80\./);
    assert.match(help, /Also read: Y\.\n$/);
  });
});

describe("HOST:PORT", () => {
  it("reads names, IPv4, bracketed IPv6 and an empty host (all interfaces)", () => {
    assert.deepEqual(parseHostPort("example.com:443", "--x"), { host: "example.com", port: 443 });
    assert.deepEqual(parseHostPort("[::1]:9090", "--x"), { host: "::1", port: 9090 });
    assert.deepEqual(parseHostPort(":9090", "--x"), { host: "0.0.0.0", port: 9090 });
    assert.deepEqual(parseHostPort("8080", "--x", { portAlone: true }), { host: "0.0.0.0", port: 8080 });
  });

  it("refuses what is not one, naming the option", () => {
    for (const value of ["8080", "host", "host:70000", "::1:9090", "[::1]", "host:port"]) {
      assert.throws(
        () => parseHostPort(value, "--x"),
        (e: unknown) => e instanceof ConfigError && e.message === `--x must be HOST:PORT, got "${value}"`,
        value,
      );
    }
    assert.throws(() => parseHostPort("host", "--x", { portAlone: true }), /--x must be HOST:PORT or PORT/);
  });
});
