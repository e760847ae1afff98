// Builds (or finds in the cache) every image the node-backed suites run; prints their archives.
// scripts/prerequisites.sh runs it so that the first suite does not pay for the builds.
import { pauseImage } from "./pause.ts";
import { agentImageArchive, kestraImageArchive, projectImageArchive } from "./images.ts";

const started = performance.now();
for (const archive of [
  await pauseImage(),
  await projectImageArchive(),
  await kestraImageArchive(),
  await agentImageArchive(),
])
  console.log(archive);
process.stderr.write(`images ready in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
