#!/usr/bin/env node
// `buf breaking` (FILE rules) against the previous state of main.
// BUF_BREAKING_AGAINST overrides the reference (any buf input, e.g. ".git#branch=main").
// The default is the parent commit, so each commit on main is checked against the one before.
import { execFileSync } from "node:child_process";

function gitHas(ref) {
  try {
    execFileSync("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const against = process.env.BUF_BREAKING_AGAINST ?? (gitHas("HEAD~1") ? ".git#ref=HEAD~1" : undefined);
if (against === undefined) {
  console.log("buf breaking: no earlier commit to compare with; skipped");
  process.exit(0);
}
try {
  execFileSync("npx", ["--no-install", "buf", "breaking", "--against", against], { stdio: "inherit" });
  console.log(`buf breaking: no breaking change against ${against}`);
} catch {
  process.exit(1);
}
