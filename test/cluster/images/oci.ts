// OCI image archives without a registry or an image tool: one uncompressed tar layer per directory,
// an image config, a manifest and an index.json whose manifest carries the name containerd imports
// it under (`io.containerd.image.name`), all in one tar (`ctr images import` and `buildah pull
// oci-archive:` take it). Images are built once per content hash into the cache, under a lock.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

export function imageCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.MCP_WARDEN_CACHE || join(homedir(), ".cache", "mcp-warden"), "images");
}

export interface ImageConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  user?: string;
  workingDir?: string;
  labels?: Record<string, string>;
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export async function tarDirectory(source: string, out: string): Promise<void> {
  await run("tar", ["-C", source, "--numeric-owner", "--sort=name", "--mtime=@0", "-cf", out, "."], {
    maxBuffer: 16 * 1024 * 1024,
  });
}

/** Writes an OCI archive of the layers (root directories, lowest first) named `name` (repo:tag). */
export async function writeOciArchive(out: string, name: string, layers: string[], config: ImageConfig): Promise<void> {
  const staging = `${out}.staging`;
  rmSync(staging, { recursive: true, force: true });
  const blobs = join(staging, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  const layerDescriptors: { mediaType: string; digest: string; size: number }[] = [];
  for (const [index, layer] of layers.entries()) {
    const tar = join(staging, `layer-${index}.tar`);
    await tarDirectory(layer, tar);
    const digest = await sha256File(tar);
    renameSync(tar, join(blobs, digest));
    layerDescriptors.push({
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      digest: `sha256:${digest}`,
      size: statSync(join(blobs, digest)).size,
    });
  }
  const blob = (mediaType: string, value: object) => {
    const text = JSON.stringify(value);
    const digest = createHash("sha256").update(text).digest("hex");
    writeFileSync(join(blobs, digest), text);
    return { mediaType, digest: `sha256:${digest}`, size: Buffer.byteLength(text) };
  };
  const imageConfig = blob("application/vnd.oci.image.config.v1+json", {
    architecture: "amd64",
    os: "linux",
    created: "1970-01-01T00:00:00Z",
    config: {
      ...(config.entrypoint ? { Entrypoint: config.entrypoint } : {}),
      ...(config.cmd ? { Cmd: config.cmd } : {}),
      Env: config.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      ...(config.user ? { User: config.user } : {}),
      ...(config.workingDir ? { WorkingDir: config.workingDir } : {}),
      ...(config.labels ? { Labels: config.labels } : {}),
    },
    rootfs: { type: "layers", diff_ids: layerDescriptors.map((l) => l.digest) },
    history: layerDescriptors.map(() => ({
      created: "1970-01-01T00:00:00Z",
      created_by: "mcp-warden test/cluster/images",
    })),
  });
  const manifest = blob("application/vnd.oci.image.manifest.v1+json", {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: imageConfig,
    layers: layerDescriptors,
  });
  const tag = name.slice(name.lastIndexOf(":") + 1);
  writeFileSync(join(staging, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(staging, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        { ...manifest, annotations: { "io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag } },
      ],
    }),
  );
  await run("tar", ["-C", staging, "--numeric-owner", "-cf", `${out}.tmp`, "oci-layout", "index.json", "blobs"]);
  renameSync(`${out}.tmp`, out);
  rmSync(staging, { recursive: true, force: true });
}

/** A content hash of files and strings (what an image is built from). */
export function contentHash(parts: (string | { file: string })[]): string {
  const hash = createHash("sha256");
  for (const part of parts) {
    hash.update(typeof part === "string" ? `s:${part}\0` : `f:${part.file}\0`);
    if (typeof part !== "string") hash.update(readFileSync(part.file));
  }
  return hash.digest("hex").slice(0, 16);
}

/**
 * The archive `<cache>/images/<stem>-<hash>.oci.tar`, built by `build(out)` when missing. One build at
 * a time per archive across processes (a lock dir holding the builder's pid; a dead builder's lock is
 * broken).
 */
export async function cachedArchive(
  stem: string,
  hash: string,
  build: (out: string) => Promise<void>,
  extension = "oci.tar",
): Promise<string> {
  const dir = imageCacheDir();
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${stem}-${hash}.${extension}`);
  if (existsSync(out)) return out;
  const lock = `${out}.lock`;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      break;
    } catch {
      if (existsSync(out)) return out;
      try {
        const pid = Number(readFileSync(join(lock, "pid"), "utf8"));
        if (pid) process.kill(pid, 0);
      } catch {
        rmSync(lock, { recursive: true, force: true }); // its builder died
        continue;
      }
      await sleep(500);
    }
  }
  try {
    if (!existsSync(out)) {
      const started = performance.now();
      await build(out);
      process.stderr.write(`[images] built ${out} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
      pruneOlder(dir, stem, extension, out);
    }
    return out;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Keeps the three newest archives of a stem (other worktrees may still use a recent one). */
function pruneOlder(dir: string, stem: string, extension: string, keep: string): void {
  const pattern = new RegExp(`^${stem}-[0-9a-f]{16}\\.${extension.replace(/\./g, "\\.")}$`);
  const archives = readdirSync(dir)
    .filter((entry) => pattern.test(entry))
    .map((entry) => join(dir, entry))
    .filter((path) => path !== keep)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  for (const old of archives.slice(2)) rmSync(old, { force: true });
}
