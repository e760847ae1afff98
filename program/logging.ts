// Operational logs of both programs in one format: JSON lines with an ISO-8601 `time`, the level by
// name (`"level":"warn"`), `"name":"mcp-warden"` and the `component` that wrote them, on stderr; an
// error is logged as its message in `err`. (The sidecar's audit log on stdout shares the time and
// level format.)
import { pino, type DestinationStream, type Logger, type LoggerOptions as PinoOptions } from "pino";

export type { Logger };
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
export const LOG_LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

/** The time and level format of every log line, operational or audit. */
export const LOG_LINE_FORMAT = {
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label: string) => ({ level: label }) },
} satisfies PinoOptions;

export interface ComponentLoggerOptions {
  level?: LogLevel;
  /** Where lines go (default: stderr, written synchronously). */
  destination?: DestinationStream;
}

/** The operational logger of one component ("sidecar", "operator"). */
export function createLogger(component: string, options: ComponentLoggerOptions = {}): Logger {
  const destination = options.destination ?? pino.destination({ fd: 2, sync: true });
  return pino(
    {
      ...LOG_LINE_FORMAT,
      name: "mcp-warden",
      level: options.level ?? "info",
      base: { component },
      serializers: { err: errorMessage },
    },
    destination,
  );
}

/**
 * An error as a log field: its message (a thrown non-Error as text). Used for `err`, whether a call
 * site passes the error or its message, so every line reads the same.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
