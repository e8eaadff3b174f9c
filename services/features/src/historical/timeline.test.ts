import { describe, expect, it } from "vitest";
import { Timeline } from "./timeline.js";

describe("Timeline", () => {
  it("finds the latest row at or before a time, never a later one", () => {
    const t = new Timeline();
    t.add(30, ["c"]);
    t.add(10, ["a"]);
    t.add(20, ["b"]);
    expect(t.lookup(9, 0)).toBeUndefined();
    expect(t.lookup(10, 0)).toEqual(["a"]);
    expect(t.lookup(29, 0)).toEqual(["b"]);
    expect(t.lookup(1000, 0)).toEqual(["c"]);
  });

  it("takes the last row in source order among equal times, also after sorting", () => {
    const t = new Timeline();
    t.add(20, ["first"]);
    t.add(5, ["early"]);
    t.add(20, ["second"]);
    expect(t.lookup(20, 0)).toEqual(["second"]);
  });

  it("applies the TTL inclusively", () => {
    const t = new Timeline();
    t.add(100, ["x"]);
    expect(t.lookup(150, 50)).toEqual(["x"]);
    expect(t.lookup(151, 50)).toBeUndefined();
  });
});
