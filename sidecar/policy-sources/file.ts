// `--policy FILE`: an McpPolicy (YAML or JSON) or a PolicyLayer v1 document, re-read when it changes.
import { basename, extname } from "node:path";
import { parsePolicyText } from "../../policy/load.ts";
import { PolicyError } from "../../policy/paths.ts";
import type { PolicySource, PolicySourceHandlers } from "../policy-source.ts";
import { watchFile, type WatchedFile } from "../watched-file.ts";

export interface FilePolicySourceOptions {
  debounceMs?: number;
  pollIntervalMs?: number;
}

export class FilePolicySource implements PolicySource {
  readonly description: string;
  private readonly path: string;
  private readonly options: FilePolicySourceOptions;
  private watched: WatchedFile | undefined;

  constructor(path: string, options: FilePolicySourceOptions = {}) {
    this.path = path;
    this.options = options;
    this.description = `file ${path}`;
  }

  async start(handlers: PolicySourceHandlers): Promise<void> {
    // A PolicyLayer document has no name of its own: it is named after its file.
    const name = basename(this.path, extname(this.path));
    this.watched = watchFile(this.path, {
      ...this.options,
      onContent: (text) => {
        try {
          handlers.policy(parsePolicyText(text, name));
        } catch (err) {
          if (err instanceof PolicyError) handlers.invalid(err);
          else handlers.trouble(err as Error);
        }
      },
      onError: (err) => handlers.trouble(err),
    });
    await this.watched.ready;
  }

  /** Re-reads the file now (SIGHUP). */
  async reload(): Promise<void> {
    await this.watched?.check();
  }

  stop(): Promise<void> {
    this.watched?.stop();
    return Promise.resolve();
  }
}
