// deploy/Dockerfile and Dockerfile.gpu, read as text (building them needs Docker and the
// network): every workspace's manifest copied before `npm ci`, final stages that run the
// seam CLI as a numeric non-root uid (which runAsNonRoot can verify) with a health check,
// and ignore files that keep node_modules and dist out of the build context.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { displayPath, repoRoot } from "./paths.mjs";

const DOCKERFILES = ["Dockerfile", "Dockerfile.gpu"];

/** Checks the Dockerfiles under `deployDir` and their .dockerignore files. */
export function checkDockerfiles(report, deployDir) {
  const workspaces = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")).workspaces ?? [];
  for (const name of DOCKERFILES) {
    const file = path.join(deployDir, name);
    const where = displayPath(file);
    if (!existsSync(file)) {
      report(where, "missing");
      continue;
    }
    const text = readFileSync(file, "utf8").replace(/\\\r?\n/g, " ");
    checkWorkspaceManifests(report, where, text, workspaces);
    checkFinalStages(report, where, stagesOf(text));
    checkDockerignore(report, path.join(deployDir, `${name}.dockerignore`));
  }
}

/** Every workspace's manifest is copied before `npm ci`, or the install misses it. */
function checkWorkspaceManifests(report, where, text, workspaces) {
  for (const ws of workspaces) {
    if (!new RegExp(`COPY\\s+${ws.replaceAll("/", "\\/")}/package\\.json\\s`).test(text)) {
      report(where, `workspace ${ws}: its package.json is not copied before npm ci`);
    }
  }
}

/** The stages of a Dockerfile (continuation lines joined): { from, lines: [{ instruction, value }] }. */
function stagesOf(text) {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
  const stages = [];
  for (const line of lines) {
    const [instruction, ...rest] = line.trim().split(/\s+/);
    const upper = instruction.toUpperCase();
    if (upper === "FROM") stages.push({ from: rest.join(" "), lines: [] });
    else stages.at(-1)?.lines.push({ instruction: upper, value: rest.join(" ") });
  }
  return stages;
}

/** Each final stage (one with an ENTRYPOINT) runs as a non-root user and starts the seam CLI. */
function checkFinalStages(report, where, stages) {
  const last = (stage, instruction) => stage.lines.filter((l) => l.instruction === instruction).at(-1)?.value;
  const has = (stage, instruction) => stage.lines.some((l) => l.instruction === instruction);
  const finals = stages.filter((s) => has(s, "ENTRYPOINT"));
  if (finals.length === 0) report(where, "no stage has an ENTRYPOINT");
  for (const stage of finals) {
    const label = `stage "${stage.from}"`;
    const user = last(stage, "USER");
    if (user === undefined || /^(0|root)(:|$)/.test(user))
      report(where, `${label}: USER must be a non-root user (got ${user ?? "none"})`);
    else if (!/^\d+(:\d+)?$/.test(user))
      report(where, `${label}: USER ${user}: use a numeric uid, which runAsNonRoot can verify`);
    const entrypoint = last(stage, "ENTRYPOINT");
    // The node flags are SEAM_NODE_FLAGS (cli/src/node-flags.ts), as every launcher starts node.
    if (entrypoint?.replace(/\s+/g, "") !== '["node","--initial-old-space-size=128","cli/bin/seam.js"]')
      report(
        where,
        `${label}: ENTRYPOINT must be ["node", "--initial-old-space-size=128", "cli/bin/seam.js"] (got ${entrypoint})`,
      );
    if (!has(stage, "HEALTHCHECK")) report(where, `${label}: no HEALTHCHECK`);
    if (!has(stage, "EXPOSE")) report(where, `${label}: no EXPOSE`);
  }
}

/** BuildKit reads <Dockerfile>.dockerignore beside it; without these patterns the context carries build output. */
function checkDockerignore(report, ignore) {
  if (!existsSync(ignore)) {
    report(displayPath(ignore), "missing: the build context would include node_modules and dist");
    return;
  }
  const patterns = readFileSync(ignore, "utf8")
    .split(/\r?\n/)
    .map((l) => l.trim());
  for (const required of ["**/node_modules", "**/dist"]) {
    if (!patterns.includes(required)) report(displayPath(ignore), `${required} is not excluded`);
  }
}
