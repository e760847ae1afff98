// The option table model of both programs: every option has a flag, an environment variable (the
// flag wins; an empty variable counts as unset), a default and a line in `--help`, all from one
// table per program. Reading a value checks it and names the option in the error.
import { parseArgs } from "node:util";
import { ConfigError } from "./config-error.ts";
import { parseHostPort, type HostPort } from "./host-port.ts";

export { ConfigError };

export interface OptionSpec {
  flag: string;
  /** The environment variable read when the flag is absent. */
  env?: string;
  /** How the value is written in --help (FILE, URL, N, DURATION…); absent for a switch. */
  value?: string;
  default?: string;
  /** The flag may be given more than once; its variable holds a comma-separated list. */
  repeatable?: boolean;
  help: string;
}

/** `--help`: the usage line, then every option with its variable, what it does and its default. */
export function optionsHelp(usage: string, options: readonly OptionSpec[], notes: readonly string[] = []): string {
  const lines = [`usage: ${usage}`, "", "Options (each also read from its environment variable; the flag wins):"];
  for (const o of options) {
    lines.push((`  --${o.flag}${o.value ? ` ${o.value}` : ""}`.padEnd(46) + (o.env ?? "")).trimEnd());
    lines.push(`      ${o.help}${o.default !== undefined ? ` Default: ${o.default}.` : ""}`);
  }
  if (notes.length > 0) lines.push("", ...notes);
  return `${lines.join("\n")}\n`;
}

/** The values of one command line and environment, read through the table. */
export class OptionValues {
  readonly #options: ReadonlyMap<string, OptionSpec>;
  readonly #flags: Record<string, string | boolean | (string | boolean)[] | undefined>;
  readonly #env: NodeJS.ProcessEnv;

  constructor(options: readonly OptionSpec[], argv: readonly string[], env: NodeJS.ProcessEnv) {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: Object.fromEntries(
        options.map((o) => [
          o.flag,
          { type: o.value ? ("string" as const) : ("boolean" as const), multiple: o.repeatable === true },
        ]),
      ),
    });
    if (positionals.length > 0) throw new ConfigError(`unexpected argument "${positionals[0]}"`);
    this.#options = new Map(options.map((o) => [o.flag, o]));
    this.#flags = values;
    this.#env = env;
  }

  /** The raw text: the flag, else the variable, else the default. */
  text(flag: string): string | undefined {
    const given = this.#flags[flag];
    if (typeof given === "string") return given;
    return this.#fromEnv(flag) ?? this.#spec(flag).default;
  }

  /** A repeatable option: every flag given, else the variable's comma-separated items. */
  list(flag: string): string[] {
    const given = this.#flags[flag];
    if (Array.isArray(given) && given.length > 0) return given.map(String);
    return (this.#fromEnv(flag) ?? this.#spec(flag).default ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  }

  /** A switch: given, or its variable set to true/1 (false/0 leave it off). */
  switch(flag: string): boolean {
    if (this.#flags[flag] === true) return true;
    const v = this.#fromEnv(flag);
    if (v === undefined) return false;
    if (v === "true" || v === "1") return true;
    if (v === "false" || v === "0") return false;
    throw this.#invalid(flag, "must be true or false", v);
  }

  int(flag: string, min: number): number | undefined {
    const v = this.text(flag);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw this.#invalid(flag, `must be an integer ≥ ${min}`, v);
    return n;
  }

  /** A finite number ≥ `min`, e.g. seconds. */
  number(flag: string, min: number, what = "a number"): number | undefined {
    const v = this.text(flag);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n < min) throw this.#invalid(flag, `must be ${what} ≥ ${min}`, v);
    return n;
  }

  ratio(flag: string): number | undefined {
    const v = this.text(flag);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1)
      throw this.#invalid(flag, "must be a number from 0 to 1", v);
    return n;
  }

  httpUrl(flag: string): URL | undefined {
    const v = this.text(flag);
    if (v === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(v);
    } catch {
      throw this.#invalid(flag, "must be a URL", v);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
      throw this.#invalid(flag, "must be an http(s) URL", v);
    return parsed;
  }

  oneOf<T extends string>(flag: string, allowed: readonly T[]): T {
    const v = this.text(flag) ?? "";
    if (!(allowed as readonly string[]).includes(v))
      throw this.#invalid(flag, `must be one of ${allowed.join(", ")}`, v);
    return v as T;
  }

  hostPort(flag: string, accepts: { portAlone?: boolean } = {}): HostPort {
    const v = this.text(flag) ?? "";
    try {
      return parseHostPort(v, this.#name(flag), accepts);
    } catch (error) {
      throw error instanceof ConfigError ? error : this.#invalid(flag, "must be HOST:PORT", v);
    }
  }

  /** JSON text; `example` shows the expected shape in the error. */
  json(flag: string, example: string): unknown {
    const v = this.text(flag);
    if (v === undefined || v === "") return undefined;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      throw this.#invalid(flag, `must be JSON such as ${example}`, v);
    }
  }

  /** An error about this option's value that names it (and the variable it came from). */
  invalid(flag: string, requirement: string): ConfigError {
    return this.#invalid(flag, requirement, this.text(flag) ?? "");
  }

  #invalid(flag: string, requirement: string, value: string): ConfigError {
    return new ConfigError(`${this.#name(flag)} ${requirement}, got "${value}"`);
  }

  /** `--flag`, with the variable when the value came from it. */
  #name(flag: string): string {
    const env = this.#spec(flag).env;
    const fromEnv = this.#flags[flag] === undefined && env !== undefined && this.#fromEnv(flag) !== undefined;
    return fromEnv ? `--${flag} (from ${env})` : `--${flag}`;
  }

  #fromEnv(flag: string): string | undefined {
    const env = this.#spec(flag).env;
    const v = env === undefined ? undefined : this.#env[env];
    return v !== undefined && v !== "" ? v : undefined;
  }

  #spec(flag: string): OptionSpec {
    const spec = this.#options.get(flag);
    if (!spec) throw new Error(`no option --${flag} in the table`);
    return spec;
  }
}
