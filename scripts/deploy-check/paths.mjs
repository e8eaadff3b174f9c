// Paths: the repository root the checks read from (built config schemas, package.json,
// kubernetes-models' declarations), and paths as problems print them.
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: the checks run from any working directory. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** A path as a problem names it: relative to the working directory, so it can be typed back. */
export const displayPath = (file) => path.relative(process.cwd(), file) || ".";
