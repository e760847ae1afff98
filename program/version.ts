// The version both programs report (metrics, traces, the upstream handshake), read once from the
// package.json that ships beside the sources in the repository and in the image.
import { readFileSync } from "node:fs";

export const VERSION = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
