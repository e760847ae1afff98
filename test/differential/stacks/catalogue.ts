// The small tool set every stack of the differential suite serves, with the same names, argument
// names and types in TypeScript (zod) and Python (type hints), so one policy governs all three and
// one judge reads all three records. Every argument is required: a framework fills defaults in, and
// the judge compares the keys the upstream read with the keys the sidecar decided on.
export const TOOLS = {
  /** Allowed. */
  list: "list_executions",
  /** Allowed, at most 3 per minute per grant; the target must be named (minLength 1). */
  limited: "resume_execution",
  /** Denied. */
  denied: "delete_execution",
  /** Hidden. */
  hidden: "force_run_execution",
  /** Allowed unless auto_create is true (CEL denyIf, as the shipped Kestra policy writes it). */
  flagged: "create_flow",
  /** Allowed when it names at least one target (an empty list makes Kestra act on the latest). */
  targets: "kill_executions",
  /** Allowed unless count is exactly 1152921504606847000 (an integer a double cannot hold). */
  counted: "schedule_runs",
  /** Allowed when source is a URL (format: url: ajv-formats' regex backtracks on long non-URLs). */
  formatted: "import_flow",
} as const;

export const LIMIT_MAX = 3;
/** How long the limited tool waits, after starting its action, for the action to complete (python_server.py: ACTION_WAIT_S). */
export const ACTION_WAIT_MS = 100;
/** The integer the schedule_runs denyIf names: 2^60 + 24, which a double rounds to 2^60. */
export const HUGE_COUNT = "1152921504606847000";
