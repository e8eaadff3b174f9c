// Child-process fixture for register.test.ts: one grpc-js unary call, server and
// client in this ESM process, then it idles until SIGTERM. It deliberately installs
// no SIGTERM handler, so the preload's flush-then-exit path is what runs.
import * as grpc from "@grpc/grpc-js";

const identity = (value) => value;
const definition = {
  echo: {
    path: "/seam.test.v1.EchoService/Echo",
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

const server = new grpc.Server();
server.addService(definition, {
  echo(call, callback) {
    callback(null, Buffer.concat([Buffer.from("echo:"), call.request]));
  },
});
const port = await new Promise((resolve, reject) => {
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
    error ? reject(error) : resolve(bound),
  );
});

const EchoClient = grpc.makeGenericClientConstructor(definition, "EchoService");
const client = new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
const reply = await new Promise((resolve, reject) => {
  client.echo(Buffer.from("hi"), (error, response) => (error ? reject(error) : resolve(response)));
});

process.stdout.write(`${JSON.stringify({ reply: reply.toString() })}\n`);
setInterval(() => {}, 60_000);
