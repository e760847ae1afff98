// The images the node's pods run, built without a registry or a Docker engine and cached by content
// hash in <cache>/images (ADR 211):
// - the project's image, from its own Dockerfile, unmodified, with buildah; the Dockerfile's FROM
//   names are substitutes assembled here and tagged in buildah's storage:
//   - docker.io/library/node:24-bookworm-slim: a Debian root filesystem (mmdebstrap, from Debian's
//     packages) with the npm `node` package's Node 24 binary and the host's npm;
//   - gcr.io/distroless/nodejs24-debian12:nonroot: that Node binary, the glibc libraries it links
//     (glibc 2.36, as distroless debian12), CA certificates, and passwd/group with nonroot (65532);
// - the Kestra image, under the name the injector's profile recognises
//   (ghcr.io/kestra-io/mcp-server-python): Debian's Python 3.11, FastMCP 3 and the pinned packages of
//   test/python/requirements.txt, and the project's Kestra test server (test/python/kestra) in /app;
// - the agent image: the project's image (its Node and MCP SDK) with test/cluster/images/agent.js,
//   a small HTTP-driven MCP client for in-cluster callers.
import { execFile, execFileSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { dockerignore, parseDockerfile } from "../../image/dockerfile.ts";
import { cachedArchive, contentHash, imageCacheDir, writeOciArchive } from "./oci.ts";

const run = promisify(execFile);
const REPO = join(import.meta.dirname, "..", "..", "..");
const HERE = import.meta.dirname;
const NODE_BINARY = join(REPO, "node_modules", "node", "bin", "node");
/** The machine's npm (the first on PATH that is a real npm package): copied into the Node build base. */
function hostNpm(): string {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const candidate = join(dir, "npm");
    if (!dir || !existsSync(candidate)) continue;
    const root = dirname(dirname(realpathSync(candidate)));
    try {
      if ((JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name?: string }).name === "npm")
        return root;
    } catch {
      // not an npm package layout
    }
  }
  throw new Error("npm is not on PATH: the Node build base for the Dockerfile needs it");
}
const HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
const DEBIAN_MIRROR = process.env.MCP_WARDEN_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
const DEBIAN_SUITE = "bookworm";

export const PROJECT_IMAGE_REPOSITORY = "ghcr.io/mcp-warden/mcp-warden";
export const KESTRA_IMAGE = "ghcr.io/kestra-io/mcp-server-python:0.0.0-test";
export const AGENT_IMAGE = "registry.mcp-warden.test/agent:1";

export function projectImageTag(): string {
  const chart = readFileSync(join(REPO, "charts", "mcp-warden", "Chart.yaml"), "utf8");
  return /^appVersion:\s*"?([^"\s]+)"?/m.exec(chart)?.[1] ?? "0.0.0";
}

export function projectImage(): string {
  return `${PROJECT_IMAGE_REPOSITORY}:${projectImageTag()}`;
}

async function exec(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  try {
    const { stdout } = await run(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      timeout: options.timeoutMs ?? 900_000,
      maxBuffer: 256 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(
      `${command} ${args.join(" ")} failed: ${(stderr || stdout).trim().split("\n").slice(-30).join("\n")}`,
      { cause: error },
    );
  }
}

function workDir(stem: string): string {
  return mkdtempSync(join(tmpdir(), `mcp-warden-image-${stem}-`));
}

/** A Debian root filesystem holding the packages (and their dependencies), unpacked, as a tar. */
async function debianRootfs(packages: string[]): Promise<string> {
  return await cachedArchive(
    "debian",
    contentHash([DEBIAN_SUITE, DEBIAN_MIRROR, ...packages]),
    async (out) => {
      // --variant=extract is the one that works here: packages (and their dependencies) are unpacked, not configured.
      await exec("mmdebstrap", [
        "--quiet",
        "--variant=extract",
        `--include=${packages.join(",")}`,
        DEBIAN_SUITE,
        `${out}.tmp.tar`,
        DEBIAN_MIRROR,
      ]);
      renameSync(`${out}.tmp.tar`, out);
    },
    "rootfs.tar",
  );
}

function passwd(root: string): void {
  mkdirSync(join(root, "etc"), { recursive: true });
  writeFileSync(
    join(root, "etc", "passwd"),
    "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
  );
  writeFileSync(join(root, "etc", "group"), "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n");
  mkdirSync(join(root, "home", "nonroot"), { recursive: true });
  chmodSync(join(root, "home", "nonroot"), 0o700);
  mkdirSync(join(root, "tmp"), { recursive: true });
  chmodSync(join(root, "tmp"), 0o1777);
}

/** The shared libraries `ldd` lists for a binary, with the loader. */
async function linkedLibraries(binary: string): Promise<string[]> {
  const output = await exec("ldd", [binary]);
  return [...output.matchAll(/(\/[^\s]+) \(0x/g)].map((m) => m[1]!);
}

/** Substitute for gcr.io/distroless/nodejs24-debian12:nonroot. */
async function distrolessNodeBase(): Promise<string> {
  return await cachedArchive(
    "distroless-node",
    contentHash(["distroless-node-1", { file: NODE_BINARY }, { file: HOST_CA_BUNDLE }]),
    async (out) => {
      const work = workDir("distroless");
      try {
        const root = join(work, "root");
        mkdirSync(join(root, "nodejs", "bin"), { recursive: true });
        cpSync(NODE_BINARY, join(root, "nodejs", "bin", "node"));
        for (const library of await linkedLibraries(NODE_BINARY)) {
          mkdirSync(join(root, dirname(library)), { recursive: true });
          copyFileSync(library, join(root, library));
        }
        mkdirSync(join(root, "etc", "ssl", "certs"), { recursive: true });
        cpSync(HOST_CA_BUNDLE, join(root, "etc", "ssl", "certs", "ca-certificates.crt"));
        passwd(root);
        await writeOciArchive(out, "gcr.io/distroless/nodejs24-debian12:nonroot", [root], {
          entrypoint: ["/nodejs/bin/node"],
          user: "65532",
          workingDir: "/home/nonroot",
          env: [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
          ],
        });
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
  );
}

/** Substitute for docker.io/library/node:24-bookworm-slim: Debian, Node 24 and npm. */
async function nodeBuildBase(): Promise<string> {
  const packages = [
    "dash",
    "bash",
    "coreutils",
    "libstdc++6",
    "libgcc-s1",
    "ca-certificates",
    "findutils",
    "grep",
    "sed",
  ];
  const rootfs = await debianRootfs(packages);
  const npm = hostNpm();
  const npmVersion = (JSON.parse(readFileSync(join(npm, "package.json"), "utf8")) as { version: string }).version;
  return await cachedArchive(
    "node-bookworm-slim",
    contentHash(["node-bookworm-slim-1", rootfs, npmVersion, { file: NODE_BINARY }, { file: HOST_CA_BUNDLE }]),
    async (out) => {
      const work = workDir("node-slim");
      try {
        const base = join(work, "base");
        const node = join(work, "node");
        mkdirSync(base);
        await exec("tar", ["-C", base, "-xf", rootfs]);
        mkdirSync(join(node, "usr", "local", "bin"), { recursive: true });
        mkdirSync(join(node, "usr", "local", "lib", "node_modules"), { recursive: true });
        cpSync(NODE_BINARY, join(node, "usr", "local", "bin", "node"));
        cpSync(npm, join(node, "usr", "local", "lib", "node_modules", "npm"), { recursive: true });
        symlinkSync("../lib/node_modules/npm/bin/npm-cli.js", join(node, "usr", "local", "bin", "npm"));
        symlinkSync("../lib/node_modules/npm/bin/npx-cli.js", join(node, "usr", "local", "bin", "npx"));
        // Extracted, not configured: the CA bundle ca-certificates would generate is the host's.
        mkdirSync(join(node, "etc", "ssl", "certs"), { recursive: true });
        cpSync(HOST_CA_BUNDLE, join(node, "etc", "ssl", "certs", "ca-certificates.crt"));
        await writeOciArchive(out, "docker.io/library/node:24-bookworm-slim", [base, node], {
          cmd: ["node"],
          env: [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt",
            "HOME=/root",
          ],
        });
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
  );
}

/** The files `docker build` sends as context (.dockerignore applied), for the image's content hash. */
function contextFiles(): string[] {
  const inContext = dockerignore(readFileSync(join(REPO, ".dockerignore"), "utf8"));
  const files = execFileSyncLines("git", ["ls-files", "--cached", "--others", "--exclude-standard"], REPO);
  return files.filter((file) => inContext(file) && existsSync(join(REPO, file))).sort();
}

function execFileSyncLines(command: string, args: string[], cwd: string): string[] {
  return execFileSync(command, args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
    .split("\n")
    .filter(Boolean);
}

function buildahArgs(storage: string): string[] {
  return ["--root", join(storage, "root"), "--runroot", join(storage, "run"), "--storage-driver", "vfs"];
}

/** Loads an OCI archive into buildah's storage under `name`. */
async function buildahLoad(storage: string, archive: string, name: string): Promise<void> {
  const id = (await exec("buildah", [...buildahArgs(storage), "pull", "--quiet", `oci-archive:${archive}`]))
    .trim()
    .split("\n")
    .at(-1)!;
  await exec("buildah", [...buildahArgs(storage), "tag", id, name]);
}

/**
 * Writes `image` from buildah's storage as an OCI archive that containerd imports under its name
 * (buildah's own archive names only the tag, so the index gets containerd's annotation).
 */
async function buildahExport(storage: string, image: string, out: string): Promise<void> {
  const layout = `${out}.layout`;
  rmSync(layout, { recursive: true, force: true });
  await exec("buildah", [
    ...buildahArgs(storage),
    "push",
    "--quiet",
    "--format",
    "oci",
    image,
    `oci:${layout}:${image}`,
  ]);
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as {
    manifests: { annotations?: Record<string, string> }[];
  };
  for (const manifest of index.manifests)
    manifest.annotations = { ...manifest.annotations, "io.containerd.image.name": image };
  writeFileSync(join(layout, "index.json"), JSON.stringify(index));
  await exec("tar", ["-C", layout, "--numeric-owner", "-cf", `${out}.tmp`, "."]);
  renameSync(`${out}.tmp`, out);
  rmSync(layout, { recursive: true, force: true });
}

/** Paths buildah creates whatever its storage options say (its blob-info cache, a CNI lock). */
const BUILDAH_HOST_PATHS = ["/var/lib/containers", "/etc/cni"];

/** Runs a build in a fresh buildah storage, removed afterwards (the archive is what is kept). */
async function withBuildah<T>(stem: string, action: (storage: string) => Promise<T>): Promise<T> {
  const storage = mkdtempSync(join(imageCacheDir(), `buildah-${stem}-`));
  const created = BUILDAH_HOST_PATHS.filter((path) => !existsSync(path));
  try {
    return await action(storage);
  } finally {
    await exec("buildah", [...buildahArgs(storage), "rm", "--all"]).catch(() => "");
    // vfs layers are plain directories; nothing is mounted once the containers are removed.
    await exec("umount", ["-R", storage]).catch(() => "");
    rmSync(storage, { recursive: true, force: true });
    for (const path of created) rmSync(path, { recursive: true, force: true });
  }
}

/** The project's image, built from its Dockerfile with buildah. */
export async function projectImageArchive(): Promise<string> {
  const dockerfile = readFileSync(join(REPO, "Dockerfile"), "utf8");
  const froms = [...new Set(parseDockerfile(dockerfile).stages.map((stage) => stage.image))];
  const bases = {
    "docker.io/library/node:24-bookworm-slim": await nodeBuildBase(),
    "gcr.io/distroless/nodejs24-debian12:nonroot": await distrolessNodeBase(),
  } as Record<string, string>;
  for (const from of froms)
    if (!(from in bases))
      throw new Error(`the Dockerfile's FROM ${from} has no local substitute (test/cluster/images/images.ts)`);
  const image = projectImage();
  const hash = contentHash([
    image,
    ...Object.values(bases).map((archive) => basename(archive)),
    ...contextFiles().flatMap((file) => [file, { file: join(REPO, file) }]),
    { file: join(REPO, "Dockerfile") },
    { file: join(REPO, ".dockerignore") },
  ]);
  return await cachedArchive("mcp-warden", hash, async (out) => {
    await withBuildah("mcp-warden", async (storage) => {
      for (const [name, archive] of Object.entries(bases)) await buildahLoad(storage, archive, name);
      await exec("buildah", [
        ...buildahArgs(storage),
        "bud",
        "--quiet",
        "--isolation",
        "chroot",
        "--pull-never",
        "--layers=false",
        "-f",
        join(REPO, "Dockerfile"),
        "-t",
        image,
        REPO,
      ]);
      await buildahExport(storage, image, out);
    });
  });
}

/** The Kestra image: Debian's Python, the pinned FastMCP 3 stack, the Kestra test server in /app. */
export async function kestraImageArchive(): Promise<string> {
  const requirements = join(REPO, "test", "python", "requirements.txt");
  // The virtualenv scripts/prerequisites.sh built from the same pins (CPython 3.11, as Debian's).
  const venv = realpathSync(join(process.env.MCP_WARDEN_CACHE || join(homedir(), ".cache", "mcp-warden"), "venv"));
  const rootfs = await debianRootfs(["python3.11", "dash", "coreutils", "ca-certificates", "libffi8", "libssl3"]);
  const serverFiles = listFiles(join(REPO, "test", "python", "kestra", "src"));
  const hash = contentHash([
    "kestra-1",
    KESTRA_IMAGE,
    basename(rootfs),
    { file: requirements },
    ...serverFiles.map((file) => ({ file })),
  ]);
  return await cachedArchive("kestra", hash, async (out) => {
    const work = workDir("kestra");
    try {
      const base = join(work, "base");
      const app = join(work, "app");
      mkdirSync(base);
      await exec("tar", ["-C", base, "-xf", rootfs]);
      // The pinned packages as the virtualenv holds them, for Debian's Python 3.11.
      const site = join(app, "usr", "local", "lib", "python3.11", "dist-packages");
      mkdirSync(dirname(site), { recursive: true });
      cpSync(join(venv, "lib", "python3.11", "site-packages"), site, {
        recursive: true,
        filter: (path) => !path.includes("__pycache__"),
      });
      const bin = join(app, "usr", "local", "bin");
      mkdirSync(bin, { recursive: true });
      writeFileSync(
        join(bin, "fastmcp"),
        "#!/usr/bin/python3.11\nimport sys\nfrom fastmcp.cli import app\nsys.exit(app())\n",
        { mode: 0o755 },
      );
      mkdirSync(join(app, "app"), { recursive: true });
      cpSync(join(REPO, "test", "python", "kestra", "src"), join(app, "app", "src"), {
        recursive: true,
        filter: (path) => !path.includes("__pycache__"),
      });
      mkdirSync(join(app, "etc", "ssl", "certs"), { recursive: true });
      cpSync(HOST_CA_BUNDLE, join(app, "etc", "ssl", "certs", "ca-certificates.crt"));
      symlinkSync("/usr/bin/python3.11", join(bin, "python"));
      await writeOciArchive(out, KESTRA_IMAGE, [base, app], {
        // Like the real image: the stdio server by default; the injector's profile rewrites the command.
        entrypoint: ["python", "src/server.py"],
        workingDir: "/app",
        env: [
          "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
          "HOME=/tmp",
          "PYTHONDONTWRITEBYTECODE=1",
          "PYTHONUNBUFFERED=1",
        ],
      });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}

/** The agent image: the project's image (Node 24, the MCP SDK) with agent.js. */
export async function agentImageArchive(): Promise<string> {
  const project = await projectImageArchive();
  const agent = join(HERE, "agent.js");
  return await cachedArchive(
    "agent",
    contentHash(["agent-1", AGENT_IMAGE, basename(project), { file: agent }]),
    async (out) => {
      await withBuildah("agent", async (storage) => {
        await buildahLoad(storage, project, projectImage());
        const container = (
          await exec("buildah", [...buildahArgs(storage), "from", "--quiet", "--pull-never", projectImage()])
        ).trim();
        await exec("buildah", [...buildahArgs(storage), "copy", "--chown", "0:0", container, agent, "/app/agent.js"]);
        await exec("buildah", [
          ...buildahArgs(storage),
          "config",
          "--entrypoint",
          JSON.stringify(["/nodejs/bin/node", "/app/agent.js"]),
          "--cmd",
          "",
          container,
        ]);
        await exec("buildah", [
          ...buildahArgs(storage),
          "commit",
          "--quiet",
          "--format",
          "oci",
          container,
          AGENT_IMAGE,
        ]);
        await buildahExport(storage, AGENT_IMAGE, out);
      });
    },
  );
}

function listFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "__pycache__") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...listFiles(path));
    else files.push(path);
  }
  return files.sort();
}
