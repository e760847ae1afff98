// Follows a file's content. Kubernetes updates mounted ConfigMaps and Secrets by swapping a symlink
// in the directory (`..data`), which inode watches on the file never see, so this watches the
// directory, re-reads the file (following links) after a quiet period, and reports only real content
// changes. A slow poll catches what filesystem events miss (some network and overlay filesystems).
//
// Only events that concern the file restart the quiet period: its own name (in-place and truncating
// writes, an editor's rename onto it), `..data` (the kubelet's swap), and the entry of the directory
// its symlink goes through (a link to `..data/policy.yaml` or to `policy.v2.yaml`). Anything else
// written there (an audit log redirected beside the policy) is ignored, and a file written without a
// pause is still re-read once `maxWaitMs` after the first event, so an edit is never held back by
// traffic in its folder (ADR 0120).
import { watch, type FSWatcher } from "node:fs";
import { readFile, readlink } from "node:fs/promises";
import { basename, dirname, isAbsolute } from "node:path";

export interface WatchedFileOptions {
  /** Quiet period after the last relevant filesystem event before the file is re-read. */
  debounceMs?: number;
  /** Longest wait from the first relevant event to the re-read, however often events come (default twice debounceMs). */
  maxWaitMs?: number;
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

/** The kubelet's atomic writer points `..data` at a new timestamped directory on every update. */
const KUBERNETES_DATA_LINK = "..data";

export function watchFile(path: string, options: WatchedFileOptions): WatchedFile {
  const debounceMs = options.debounceMs ?? 250;
  const maxWaitMs = Math.max(debounceMs, options.maxWaitMs ?? 2 * debounceMs);
  const concerns = relevantNames(path);
  let last: string | undefined;
  let lastError: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let firstEventAt: number | undefined;
  let stopped = false;
  let reading: Promise<void> = Promise.resolve();

  const read = async (): Promise<void> => {
    if (stopped) return;
    await concerns.refresh();
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
    const now = Date.now();
    firstEventAt ??= now;
    if (timer) clearTimeout(timer);
    const wait = Math.max(0, Math.min(debounceMs, firstEventAt + maxWaitMs - now));
    timer = setTimeout(() => {
      timer = undefined;
      firstEventAt = undefined;
      void check();
    }, wait);
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
      // Without a name (some platforms) the event may concern the file.
      if (filename === null || concerns.has(filename)) schedule();
    });
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

/** The directory entries whose change can change what reading `path` gives. */
function relevantNames(path: string): { has(name: string): boolean; refresh(): Promise<void> } {
  const own = basename(path);
  let linkHead: string | undefined;
  return {
    has: (name) => name === own || name === KUBERNETES_DATA_LINK || name === linkHead,
    async refresh() {
      try {
        const target = await readlink(path);
        const head = target.split("/").find((part) => part !== "" && part !== ".");
        linkHead = isAbsolute(target) || head === ".." ? undefined : head;
      } catch {
        linkHead = undefined; // not a symlink (or not there yet)
      }
    },
  };
}
