import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { expect } from "vitest";

/**
 * Asserts equal bytes; on a difference, shows the lengths and the first differing byte
 * with some context as hex (a diff of two large arrays would take the runner minutes).
 */
export function expectSameBytes(actual: Uint8Array, wanted: Uint8Array): void {
  if (Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(wanted)) return;
  let at = 0;
  while (at < actual.length && actual[at] === wanted[at]) at++;
  const around = (b: Uint8Array) => Buffer.from(b.subarray(Math.max(0, at - 16), at + 16)).toString("hex");
  expect({ length: actual.length, at, bytes: around(actual) }).toEqual({
    length: wanted.length,
    at,
    bytes: around(wanted),
  });
}

/** What `run` throws, or undefined. */
export function failureOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

/**
 * Asserts that a hand-written encoder writes what toBinary(create()) writes for each of
 * `inits`, given as the init object and as the message created from it.
 */
export function expectEncodesLikeToBinary<Desc extends DescMessage>(
  schema: Desc,
  encode: (message: MessageInitShape<Desc>) => Uint8Array,
  inits: Iterable<MessageInitShape<Desc>>,
): void {
  for (const init of inits) {
    const bytes = toBinary(schema, create(schema, init));
    expectSameBytes(encode(init), bytes);
    expectSameBytes(encode(create(schema, init) as MessageInitShape<Desc>), bytes);
  }
}
