// The one error for a wrong setting or command line, whichever program reads it.

/** A setting that is wrong; the CLI prints it with the usage and exits 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
}
