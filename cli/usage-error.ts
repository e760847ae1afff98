/** A mistake in how a command was called; the CLI prints it with the usage and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}
