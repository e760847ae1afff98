// Follows a file's content. Kubernetes updates mounted ConfigMaps and Secrets by swapping a symlink
// in the directory (`..data`), which inode watches on the file never see, so this watches the
// directory, re-reads the file (following links) after a quiet period, and reports only real content
// changes. A slow poll catches what filesystem events miss (some network and overlay filesystems).
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";

export interface WatchedFileOptions {
  /** Quiet period after the last filesystem event before the file is re-read. */
  debounceMs?: number;
  /** Re-read this often whatever the events say; 0 disables polling. */
  pollIntervalMs?: number;
  /** New content (also the first successful read). */
  onContent(text: string): void;
  /** The file cannot be read; reported once per distinct problem until a read succeeds. */
  onError(error: Error): void;
}

export interface WatchedFile {
  /** Resolves after the first read attempt (successful or not). */
  readonly ready: Promise<void>;
  /** Re-reads now (also used by tests and SIGHUP). */
  check(): Promise<void>;
  stop(): void;
}

export function watchFile(path: string, options: WatchedFileOptions): WatchedFile {
  const debounceMs = options.debounceMs ?? 250;
  let last: string | undefined;
  let lastError: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let reading: Promise<void> = Promise.resolve();

  const read = async (): Promise<void> => {
    if (stopped) return;
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const key = e.code ?? e.message;
      if (key !== lastError) {
        lastError = key;
        options.onError(new Error(`cannot read ${path}: ${e.code ?? e.message}`));
      }
      return;
    }
    lastError = undefined;
    if (text === last || stopped) return;
    last = text;
    options.onContent(text);
  };
  // Reads never overlap, so deliveries stay in order.
  const check = (): Promise<void> => (reading = reading.then(read));

  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void check(), debounceMs);
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, schedule);
    watcher.on("error", () => schedule());
  } catch {
    // The directory may appear later; polling covers it.
  }
  const pollMs = options.pollIntervalMs ?? 10_000;
  const poll = pollMs > 0 ? setInterval(() => void check(), pollMs) : undefined;
  poll?.unref();

  return {
    ready: check(),
    check,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
      watcher?.close();
    },
  };
}
