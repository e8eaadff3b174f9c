import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { delimitedSize, int32Size, int64Size, ProtoWriter, Sizes, uint64Size, utf8Length } from "./index.js";

const UINTS = [
  0,
  1,
  127,
  128,
  16383,
  16384,
  2 ** 21,
  2 ** 28 - 1,
  2 ** 28,
  2 ** 32 - 1,
  2 ** 35,
  2 ** 53 - 1,
];
const INT32S = [0, 1, -1, 127, 128, 2147483647, -2147483648];
const INT64S = [0n, 1n, -1n, 127n, 128n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n - 1n, -(2n ** 63n)];
const UINT64S = [0n, 2n ** 53n - 1n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n];
const STRINGS = [
  "",
  "a",
  "é",
  "日本語",
  "🙂",
  "\ud800 lone",
  "x".repeat(64),
  "x".repeat(65),
  "ü".repeat(300),
];

/** Writes with a ProtoWriter sized by `size`, and checks it wrote what BinaryWriter writes. */
function expectLikeBinaryWriter(
  size: number,
  write: (out: ProtoWriter) => void,
  reference: (w: BinaryWriter) => void,
) {
  const out = new ProtoWriter(size);
  write(out);
  const wanted = new BinaryWriter();
  reference(wanted);
  expect(out.finish()).toEqual(wanted.finish());
}

describe("ProtoWriter", () => {
  it("writes varints as protobuf-es does, in the sizes the size functions give", () => {
    for (const n of UINTS)
      expectLikeBinaryWriter(
        uint64Size(BigInt(n)),
        (o) => o.uint(n),
        (w) => w.uint64(n),
      );
    for (const n of INT32S)
      expectLikeBinaryWriter(
        int32Size(n),
        (o) => o.int32(n),
        (w) => w.int32(n),
      );
    for (const n of INT64S)
      expectLikeBinaryWriter(
        int64Size(n),
        (o) => o.int64(n),
        (w) => w.int64(n),
      );
    for (const n of UINT64S)
      expectLikeBinaryWriter(
        uint64Size(n),
        (o) => o.uint64(n),
        (w) => w.uint64(n),
      );
  });

  it("writes strings, bytes and doubles as protobuf-es does", () => {
    for (const s of STRINGS) {
      expectLikeBinaryWriter(
        delimitedSize(utf8Length(s)),
        (o) => o.string(s),
        (w) => w.string(s),
      );
    }
    const bytes = new Uint8Array([0, 1, 255]);
    expectLikeBinaryWriter(
      4,
      (o) => o.bytes(bytes),
      (w) => w.bytes(bytes),
    );
    expectLikeBinaryWriter(
      16,
      (o) => {
        o.double(-0);
        o.double(Number.NaN);
      },
      (w) => w.double(-0).double(Number.NaN),
    );
  });

  it("takes nested lengths from its Sizes in the order they were reserved", () => {
    const sizes = new Sizes();
    const outer = sizes.reserve();
    sizes.set(sizes.reserve(), 1);
    sizes.set(outer, 3);
    const out = new ProtoWriter(5, sizes);
    out.messageHeader(0x0a);
    out.messageHeader(0x12);
    out.byte(7);
    expect(out.finish()).toEqual(new Uint8Array([0x0a, 3, 0x12, 1, 7]));
  });

  it("refuses a nested length without Sizes, and a buffer not filled to its size", () => {
    expect(() => new ProtoWriter(2).messageHeader(0x0a)).toThrow(/no Sizes/);
    const out = new ProtoWriter(2);
    out.byte(1);
    expect(() => out.finish()).toThrow("encoded 1 bytes, sized 2");
  });
});
