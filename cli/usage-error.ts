/**
 * A mistake in how a command was called or configured; the CLI prints it with the usage and exits 2.
 * The same class as the programs' option tables throw, so every wrong setting ends the same way.
 */
export { ConfigError as UsageError } from "../program/config-error.ts";
