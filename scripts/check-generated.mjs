#!/usr/bin/env node
// Fails when `buf generate` would change the committed generated code:
// the .proto files are the source of truth and proto/gen must match them.
import { execFileSync } from "node:child_process";

const run = (cmd, args) =>
  execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });

const before = run("git", ["status", "--porcelain", "--untracked-files=all", "proto/gen"]);
run("npx", ["--no-install", "buf", "generate"]);
const after = run("git", ["status", "--porcelain", "--untracked-files=all", "proto/gen"]);
if (before !== after) {
  process.stderr.write(
    "proto/gen is out of date with the .proto files: run `npm run proto:generate` and commit the result.\n" +
      run("git", ["status", "--short", "proto/gen"]),
  );
  process.exit(1);
}
const dirty = after.trim();
if (dirty !== "") {
  process.stderr.write(`proto/gen has uncommitted changes:\n${dirty}\n`);
  process.exit(1);
}
console.log("proto/gen matches the .proto sources");
