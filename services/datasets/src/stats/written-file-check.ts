import { closeSync, openSync, readSync, statSync } from "node:fs";
import { DataLossError } from "@seam/kit/errors";

/** Bytes compared per read; a record batch message is read in pieces of at most this. */
const READ_BYTES = 4 << 20;

/**
 * Checks, piece by piece as a stream is written, that a file holds exactly the bytes of
 * that stream: each `expect(bytes)` reads the same range back from the file and compares.
 * Whoever hashes the stream's bytes in memory and runs this check has the file's own
 * digest, without hashing the file again after it is closed (the blob store's putFile
 * would: 0.15 s for 180 MB, all of it after an upload's last chunk).
 *
 * Call `expect` only for bytes the file already has (after their write completed), in
 * stream order; `end()` once the writer closed the file. Synchronous reads: it runs on the
 * statistics worker's thread (or in-process in tests). Each call opens and closes the file:
 * a worker terminated mid-upload keeps no descriptor open (they belong to the process).
 * Throws DataLossError naming the first byte that differs, or a file of another length.
 */
export class WrittenFileCheck {
  private offset = 0;
  private buffer = Buffer.alloc(0);

  /** `readBytes`: the most read and compared at once (smaller in tests, to cross pieces). */
  constructor(
    private readonly path: string,
    private readonly readBytes = READ_BYTES,
  ) {}

  /** The next `bytes` of the stream: the file must hold them at the current offset. */
  expect(bytes: Uint8Array): void {
    const fd = openSync(this.path, "r");
    try {
      this.compare(fd, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } finally {
      closeSync(fd);
    }
  }

  private compare(fd: number, expected: Buffer): void {
    for (let done = 0; done < expected.length; ) {
      const want = Math.min(this.readBytes, expected.length - done);
      if (this.buffer.length < want) this.buffer = Buffer.allocUnsafe(want);
      const read = readSync(fd, this.buffer, 0, want, this.offset + done);
      if (read !== want) {
        throw new DataLossError(
          `${this.path} ends at byte ${this.offset + done + read}, but the stream written to it is longer`,
        );
      }
      const piece = expected.subarray(done, done + want);
      if (!this.buffer.subarray(0, want).equals(piece)) {
        const at = firstDifference(this.buffer.subarray(0, want), piece);
        throw new DataLossError(
          `${this.path} differs at byte ${this.offset + done + at} from the stream written to it`,
        );
      }
      done += want;
    }
    this.offset += expected.length;
  }

  /** The stream ended: the file must have no byte beyond it. */
  end(): void {
    this.buffer = Buffer.alloc(0);
    const { size } = statSync(this.path);
    if (size !== this.offset) {
      throw new DataLossError(
        `${this.path} has ${size} bytes, but the stream written to it has ${this.offset}`,
      );
    }
  }
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i;
}
