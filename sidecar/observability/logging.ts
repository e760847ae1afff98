// Two JSON log streams: operational logs (stderr, the format both programs share: program/logging.ts)
// and the audit log (stdout, one line per tool-call decision, marked `"audit":true`), so a log
// pipeline can route them apart even when merged.
import { pino, type DestinationStream, type Logger } from "pino";
import { createLogger, LOG_LINE_FORMAT, type LogLevel } from "../../program/logging.ts";

export { LOG_LEVELS, type LogLevel } from "../../program/logging.ts";

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
  const log = createLogger("sidecar", { level: options.level ?? "info", destination: logDestination });
  const audit = pino(
    { ...LOG_LINE_FORMAT, name: "mcp-warden-audit", level: "info", base: { audit: true } },
    auditDestination,
  );
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
