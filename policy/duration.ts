// Window and timeout lengths as written in policies: named windows or a number with a unit.
const NAMED: Readonly<Record<string, number>> = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds in `minute`, `90s`, `15m`, …; undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  const named = NAMED[text];
  if (named !== undefined) return named;
  const match = /^([1-9][0-9]{0,8})(ms|s|m|h|d)$/.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * (UNIT_MS[match[2] as string] as number);
}

/** A window for people: "minute", "90 seconds". */
export function describeWindow(text: string, ms: number): string {
  if (NAMED[text] !== undefined) return text;
  if (ms % 86_400_000 === 0) return plural(ms / 86_400_000, "day");
  if (ms % 3_600_000 === 0) return plural(ms / 3_600_000, "hour");
  if (ms % 60_000 === 0) return plural(ms / 60_000, "minute");
  if (ms % 1_000 === 0) return plural(ms / 1_000, "second");
  return `${ms} ms`;
}

function plural(n: number, unit: string): string {
  return n === 1 ? unit : `${n} ${unit}s`;
}
