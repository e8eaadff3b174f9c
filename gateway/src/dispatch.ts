import type { Server as HttpServer } from "node:http";
import type { Http2Server } from "node:http2";
import type { Socket } from "node:net";

// Every cleartext HTTP/2 connection (h2c with prior knowledge, as gRPC clients
// open it) starts with this preface; no HTTP/1.1 request line can.
const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * Hands a fresh connection to the HTTP/2 or the HTTP/1.1 server by its first bytes.
 * Node 20's http2.createServer ignores `allowHTTP1` without TLS, so serving gRPC
 * (HTTP/2 only) and browsers/curl (often HTTP/1.1) on one cleartext port takes this.
 * The bytes read are pushed back, and both servers pick them up from the socket.
 */
export function dispatchConnection(socket: Socket, http1: HttpServer, http2: Http2Server): void {
  let seen = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    seen = Buffer.concat([seen, chunk]);
    const compared = Math.min(seen.length, HTTP2_PREFACE.length);
    const isHttp2 = seen.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared));
    if (isHttp2 && seen.length < HTTP2_PREFACE.length) return; // a split preface: wait for the rest
    socket.off("data", onData);
    socket.pause();
    socket.unshift(seen);
    (isHttp2 ? http2 : http1).emit("connection", socket);
    // Resume only once the chosen server has attached its reader.
    process.nextTick(() => socket.resume());
  };
  socket.on("data", onData);
}
