// Just enough of Docker's build semantics to rebuild the image's file tree without a Docker engine:
// a Dockerfile parser (stages, instructions, exec-form arguments, ARG defaults) and the
// .dockerignore rules (the last matching pattern wins; a pattern matching a directory covers
// everything below it; `!` re-includes).
import { normalize } from "node:path";

export interface Instruction {
  name: string;
  /** The raw text after the instruction name, continuation lines joined. */
  raw: string;
  /** Exec form (JSON array) when the instruction uses it. */
  exec?: string[];
  /** Flags such as --from=dependencies. */
  flags: Record<string, string>;
  /** Words after the flags (shell form, split on whitespace). */
  words: string[];
}

export interface Stage {
  /** The FROM image, with ARG defaults substituted. */
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

export interface Dockerfile {
  args: Record<string, string>;
  stages: Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const logical: string[] = [];
  let current = "";
  for (const line of text.split("\n")) {
    if (/^\s*#/.test(line) && current === "") continue;
    if (/\\\s*$/.test(line)) {
      current += line.replace(/\\\s*$/, " ");
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = "";
  }
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  const substitute = (value: string) =>
    value.replace(
      /\$\{(\w+)\}|\$(\w+)/g,
      (_m, a: string | undefined, b: string | undefined) => args[(a ?? b) as string] ?? "",
    );
  for (const line of logical) {
    const match = /^(\w+)\s+(.*)$/.exec(line);
    if (!match) throw new Error(`cannot parse Dockerfile line: ${line}`);
    const name = (match[1] as string).toUpperCase();
    const raw = match[2] as string;
    let exec: string[] | undefined;
    if (raw.startsWith("[")) {
      try {
        exec = JSON.parse(raw) as string[];
      } catch {
        throw new Error(`${name} is not valid exec form (a JSON array of strings): ${raw}`);
      }
    }
    const tokens = raw.split(/\s+/);
    const flags: Record<string, string> = {};
    while (tokens[0]?.startsWith("--")) {
      const [key, value = ""] = (tokens.shift() as string).slice(2).split("=");
      flags[key as string] = value;
    }
    const instruction: Instruction = { name, raw, flags, words: tokens, ...(exec ? { exec } : {}) };
    if (name === "ARG" && stages.length === 0) {
      const [key, value = ""] = raw.split("=");
      args[(key as string).trim()] = value.trim();
    } else if (name === "FROM") {
      const [image, as, stageName] = tokens;
      stages.push({
        image: substitute(image as string),
        name: as?.toUpperCase() === "AS" ? stageName : undefined,
        instructions: [],
      });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${name} before FROM`);
      stage.instructions.push(instruction);
    }
  }
  return { args, stages };
}

/** The .dockerignore rules as a predicate: true when the path (relative, / separated) is in the context. */
/** A Docker (Go filepath.Match) pattern with `**`, as a regular expression: `*` matches dot files too. */
function patternRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*" && pattern[i + 1] === "*") {
      source += pattern[i + 2] === "/" ? "(?:.*/)?" : ".*";
      i += pattern[i + 2] === "/" ? 2 : 1;
    } else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const negated = line.startsWith("!");
      return {
        negated,
        pattern: patternRegExp(
          normalize(negated ? line.slice(1) : line)
            .replace(/\/$/, "")
            .replace(/^\//, ""),
        ),
      };
    });
  return (path: string) => {
    const parts = path.split("/");
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let included = true;
    for (const rule of rules) {
      if (prefixes.some((prefix) => rule.pattern.test(prefix))) included = rule.negated;
    }
    return included;
  };
}
