import { describe, expect, it } from "vitest";
import { builtWorkerExecArgv } from "./exec-argv.js";

describe("builtWorkerExecArgv", () => {
  it("drops every form of --conditions and keeps the other flags", () => {
    expect(
      builtWorkerExecArgv([
        "--conditions",
        "source",
        "--enable-source-maps",
        "-C",
        "x",
        "--conditions=y",
        "-C=z",
        "--import",
        "a",
      ]),
    ).toEqual(["--enable-source-maps", "--import", "a"]);
  });
});
