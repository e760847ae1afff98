// The pause image: a static binary (pause.c) alone, the sandbox image of every pod.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { PAUSE_IMAGE } from "../node.ts";
import { cachedArchive, contentHash, writeOciArchive } from "./oci.ts";

const run = promisify(execFile);
const source = join(import.meta.dirname, "pause.c");

export async function pauseImage(): Promise<string> {
  return await cachedArchive(
    "pause",
    contentHash([PAUSE_IMAGE, { file: source }, { file: import.meta.filename }]),
    async (out) => {
      const work = mkdtempSync(join(tmpdir(), "mcp-warden-pause-"));
      try {
        const root = join(work, "root");
        mkdirSync(root);
        await run("gcc", ["-static", "-Os", "-s", "-o", join(root, "pause"), source]);
        await writeOciArchive(out, PAUSE_IMAGE, [root], { entrypoint: ["/pause"], user: "65535:65535" });
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
  );
}
