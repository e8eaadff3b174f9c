import { randomBytes } from "node:crypto";
import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataLossError } from "@seam/kit/errors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WrittenFileCheck } from "./written-file-check.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "seam-file-check-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A stream of three pieces, the file holding them (written as each would be). */
async function written(name: string): Promise<{ path: string; pieces: Buffer[] }> {
  const pieces = [randomBytes(100), randomBytes(5_000), randomBytes(37)];
  const path = join(dir, name);
  await writeFile(path, Buffer.concat(pieces));
  return { path, pieces };
}

describe("WrittenFileCheck", () => {
  it("accepts a file holding exactly the stream, read back in pieces smaller than a write", async () => {
    const { path, pieces } = await written("same.bin");
    const check = new WrittenFileCheck(path, 64);
    for (const piece of pieces) check.expect(piece);
    check.end();
  });

  it("names the first byte that differs, in any piece", async () => {
    const { path, pieces } = await written("changed.bin");
    const changed = Buffer.from(pieces[1] as Buffer);
    changed[4_321] = ((changed[4_321] as number) + 1) & 0xff;
    const check = new WrittenFileCheck(path, 1_000);
    check.expect(pieces[0] as Buffer);
    expect(() => check.expect(changed)).toThrow(DataLossError);
    expect(() =>
      new WrittenFileCheck(path, 1_000).expect(Buffer.concat([pieces[0] as Buffer, changed])),
    ).toThrow(/differs at byte 4421 /);
  });

  it("refuses a file shorter or longer than the stream", async () => {
    const { path, pieces } = await written("short.bin");
    const longer = new WrittenFileCheck(path);
    for (const piece of pieces) longer.expect(piece);
    expect(() => longer.expect(Buffer.from("more"))).toThrow(/ends at byte 5137/);
    const extra = new WrittenFileCheck(path);
    for (const piece of pieces) extra.expect(piece);
    await appendFile(path, "x");
    expect(() => extra.end()).toThrow(/has 5138 bytes, but the stream written to it has 5137/);
  });
});
