import { describe, expect, it } from "vitest";
import { createProgress, createStatusLine, formatBytes, formatRate, renderProgress } from "./progress.js";

/** A stream recording writes, with a clock the test moves. */
function fakeStream(tty: boolean, columns?: number) {
  const writes: string[] = [];
  return {
    writes,
    stream: {
      isTTY: tty,
      ...(columns === undefined ? {} : { columns }),
      write: (text: string) => writes.push(text),
    },
  };
}

function fakeClock() {
  let t = 1_000;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

describe("renderProgress", () => {
  it("shows the bar, percent, bytes of total, rate and rows", () => {
    const line = renderProgress(
      {
        label: "upload a.csv",
        bytes: 1_500_000,
        total: 3_000_000,
        rows: 1200,
        totalRows: undefined,
        elapsedMs: 1000,
      },
      true,
    );
    expect(line).toBe(
      `upload a.csv [${"#".repeat(12)}${"-".repeat(12)}]  50% 1.5 MB / 3.0 MB 1.5 MB/s 1,200 rows`,
    );
  });

  it("leaves the bar out of plain lines and the percent out when no total is known", () => {
    const state = {
      label: "x",
      bytes: 2_000,
      total: 8_000,
      rows: undefined,
      totalRows: undefined,
      elapsedMs: 2000,
    };
    expect(renderProgress(state, false)).toBe("x  25% 2.0 kB / 8.0 kB 0.0 MB/s");
    expect(renderProgress({ ...state, total: undefined }, true)).toBe("x 2.0 kB 0.0 MB/s");
  });

  it("counts the percent in rows when only the row total is known", () => {
    const line = renderProgress(
      { label: "dl", bytes: 500, total: undefined, rows: 30, totalRows: 40, elapsedMs: 0 },
      true,
    );
    expect(line).toBe(`dl [${"#".repeat(18)}${"-".repeat(6)}]  75% 500 B -- MB/s 30 / 40 rows`);
  });

  it("formats bytes in decimal units and rates in MB/s", () => {
    expect([0, 999, 1000, 1_234_567, 5e9, 7e15].map(formatBytes)).toEqual([
      "0 B",
      "999 B",
      "1.0 kB",
      "1.2 MB",
      "5.0 GB",
      "7000.0 TB",
    ]);
    expect(formatRate(10_000_000, 2000)).toBe("5.0 MB/s");
    expect(formatRate(1, 0)).toBe("-- MB/s");
  });
});

describe("createProgress", () => {
  it("redraws in place on a TTY, at most every redrawMs, and ends the line when done", () => {
    const { writes, stream } = fakeStream(true);
    const clock = fakeClock();
    const p = createProgress({ label: "up", stream, total: 4000, now: clock.now, redrawMs: 100 });
    p.update(1000);
    clock.advance(50);
    p.update(2000); // too soon: not drawn
    clock.advance(50);
    p.update(3000);
    clock.advance(10);
    p.update(4000, 7);
    p.done();
    p.done();
    expect(writes).toHaveLength(3);
    for (const w of writes) expect(w.startsWith("\r")).toBe(true);
    expect(writes[0]).toContain(" 25% 1.0 kB / 4.0 kB");
    expect(writes[1]).toContain(" 75% 3.0 kB / 4.0 kB");
    expect(writes[2]).toMatch(/100% 4\.0 kB \/ 4\.0 kB .* 7 rows/);
    expect(writes[2]?.endsWith("\x1b[K\n")).toBe(true);
    expect(writes.slice(0, 2).every((w) => w.endsWith("\x1b[K"))).toBe(true);
  });

  it("cuts TTY lines to the terminal width so they never wrap", () => {
    const { writes, stream } = fakeStream(true, 20);
    const p = createProgress({ label: "a-long-label-for-a-narrow-terminal", stream, now: fakeClock().now });
    p.update(10);
    expect(writes[0]).toBe("\ra-long-label-for-a-\x1b[K");
  });

  it("prints plain lines without a TTY: first, at each quarter, every lineMs, and at the end", () => {
    const { writes, stream } = fakeStream(false);
    const clock = fakeClock();
    const p = createProgress({ label: "up", stream, total: 100, now: clock.now, lineMs: 5000 });
    for (let bytes = 1; bytes <= 100; bytes++) {
      clock.advance(10);
      p.update(bytes);
    }
    p.done();
    expect(writes.map((w) => w.trim().split(/ +/)[1])).toEqual(["1%", "25%", "50%", "75%", "100%"]);
    expect(writes.every((w) => w.endsWith("\n") && !w.includes("\r") && !w.includes("["))).toBe(true);

    const slow = fakeStream(false);
    const q = createProgress({ label: "dl", stream: slow.stream, now: clock.now, lineMs: 5000 });
    for (let i = 1; i <= 12; i++) {
      clock.advance(1000);
      q.update(i * 1000);
    }
    expect(slow.writes.map((w) => w.split(/ +/)[1])).toEqual(["1.0", "6.0", "11.0"]);
  });
});

describe("createStatusLine", () => {
  it("redraws one TTY line in place at most every redrawMs and ends it when done", () => {
    const { writes, stream } = fakeStream(true, 12);
    const clock = fakeClock();
    const status = createStatusLine({ stream, now: clock.now, redrawMs: 100 });
    expect(writes).toEqual([]);
    status.update("read 1 rows");
    clock.advance(50);
    status.update("read 2 rows");
    clock.advance(60);
    status.update("read 300000 rows");
    status.done();
    status.done();
    expect(writes).toEqual(["\rread 1 rows\x1b[K", "\rread 300000\x1b[K", "\rread 300000\x1b[K\n"]);
  });

  it("writes plain lines at most every lineMs, and the last state once when done", () => {
    const { writes, stream } = fakeStream(false);
    const clock = fakeClock();
    const status = createStatusLine({ stream, now: clock.now, lineMs: 1000 });
    status.update("a");
    status.update("b");
    clock.advance(1000);
    status.update("c");
    status.done();
    status.update("d");
    expect(writes).toEqual(["a\n", "c\n"]);

    const late = fakeStream(false);
    const other = createStatusLine({ stream: late.stream, now: clock.now, lineMs: 1000 });
    other.update("x");
    other.update("y");
    other.done();
    expect(late.writes).toEqual(["x\n", "y\n"]);
  });

  it("clears a TTY line for other output and redraws at the next update", () => {
    const { writes, stream } = fakeStream(true);
    const clock = fakeClock();
    const status = createStatusLine({ stream, now: clock.now, redrawMs: 100 });
    status.clear();
    status.update("epoch 1/3");
    status.clear();
    status.update("epoch 2/3");
    status.clear();
    status.done();
    expect(writes).toEqual(["\repoch 1/3\x1b[K", "\r\x1b[K", "\repoch 2/3\x1b[K", "\r\x1b[K"]);
  });

  it("keeps plain lines when cleared without a TTY, and does not draw the cleared state when done", () => {
    const { writes, stream } = fakeStream(false);
    const clock = fakeClock();
    const status = createStatusLine({ stream, now: clock.now, lineMs: 1000 });
    status.update("a");
    status.clear();
    status.update("b");
    status.clear();
    status.done();
    expect(writes).toEqual(["a\n"]);
  });

  it("draws nothing when there was no update", () => {
    const { writes, stream } = fakeStream(true);
    createStatusLine({ stream }).done();
    expect(writes).toEqual([]);
  });
});
