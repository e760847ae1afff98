// Two JSON log streams: operational logs (stderr) and the audit log (stdout, one line per tool-call
// decision, marked `"audit":true`), so a log pipeline can route them apart even when merged.
import { pino, type DestinationStream, type Logger } from "pino";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
export const LOG_LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

export interface Loggers {
  log: Logger;
  audit: Logger;
  /** Flushes buffered lines; call before the process exits. */
  flush(): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where operational logs go (default stderr). */
  logDestination?: DestinationStream;
  /** Where audit lines go (default stdout). */
  auditDestination?: DestinationStream;
}

const common = {
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label: string) => ({ level: label }) },
};

/** Lines are written in batches of at least this many bytes, or after FLUSH_INTERVAL_MS at the latest. */
const BATCH_BYTES = 8192;
const FLUSH_INTERVAL_MS = 200;

export function createLoggers(options: LoggerOptions = {}): Loggers {
  // One write per line would cost a system call per tool call; batches are flushed within 200 ms.
  const logDestination = options.logDestination ?? pino.destination({ fd: 2, sync: false, minLength: BATCH_BYTES });
  const auditDestination = options.auditDestination ?? pino.destination({ fd: 1, sync: false, minLength: BATCH_BYTES });
  const flushAsync = () => {
    for (const d of [logDestination, auditDestination]) {
      const flushable = d as { flush?: () => void; writing?: boolean };
      try {
        flushable.flush?.();
      } catch {
        // Not yet open or already being written: the next interval takes it.
      }
    }
  };
  setInterval(flushAsync, FLUSH_INTERVAL_MS).unref();
  const log = pino({ ...common, name: "mcp-warden", level: options.level ?? "info", base: { component: "sidecar" } }, logDestination);
  const audit = pino({ ...common, name: "mcp-warden-audit", level: "info", base: { audit: true } }, auditDestination);
  return {
    log,
    audit,
    flush() {
      for (const d of [logDestination, auditDestination]) {
        const flushable = d as { flushSync?: () => void };
        try {
          flushable.flushSync?.();
        } catch {
          // Not yet open (nothing written): nothing to flush.
        }
      }
    },
  };
}
