import { create, toBinary } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { encodeMessage, int32FieldSize, int64FieldSize, type MessageEncoder } from "./index.js";

// A hand-written encoder of google.protobuf.Timestamp (seconds = 1, nanos = 2).
const timestamp: MessageEncoder = {
  size: (t) => int64FieldSize(t.seconds) + int32FieldSize(t.nanos),
  write: (out, t) => {
    out.int64Field(0x08, t.seconds);
    out.int32Field(0x10, t.nanos);
  },
};

describe("encodeMessage", () => {
  it("writes what toBinary writes, with the hand-written passes", () => {
    for (const init of [{}, { seconds: 1_700_000_000n, nanos: 5 }, { seconds: -1n }, { nanos: -7 }]) {
      expect(encodeMessage(TimestampSchema, init, timestamp)).toEqual(
        toBinary(TimestampSchema, create(TimestampSchema, init)),
      );
    }
  });

  it("leaves a value its sizing pass does not take to protobuf-es, bytes or error alike", () => {
    let writes = 0;
    const counted: MessageEncoder = {
      ...timestamp,
      write: (out, t) => {
        writes++;
        timestamp.write(out, t);
      },
    };
    // A number where the int64 goes: create() converts it, the sizing pass does not.
    const numeric = { seconds: 42 } as unknown as { seconds: bigint };
    expect(encodeMessage(TimestampSchema, numeric, counted)).toEqual(
      toBinary(TimestampSchema, create(TimestampSchema, numeric)),
    );
    expect(writes).toBe(0);
    const bad = { seconds: "soon" } as unknown as { seconds: bigint };
    expect(() => encodeMessage(TimestampSchema, bad, counted)).toThrow();
    expect(writes).toBe(0);
  });
});
