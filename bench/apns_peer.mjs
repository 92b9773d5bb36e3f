// A lean APNs-like HTTP/2 peer for bench/bench_apns.py --peer node: Node's `http2` module (nghttp2)
// in its own process. It answers every POST /3/device/<token> with 200 and the request's apns-id,
// checks nothing (no JWT, no payload), so it costs the wire and little else; GET /_count says how
// many device requests it answered, so a run can prove its requests arrived.
//   node bench/apns_peer.mjs PORT [CERT_PEM KEY_PEM]   (TLS with a certificate, else h2c)
import fs from "node:fs";
import http2 from "node:http2";

const [port, cert, key] = process.argv.slice(2);
const settings = { maxConcurrentStreams: 1000 };
const server = cert
  ? http2.createSecureServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key), settings })
  : http2.createServer({ settings });
let answered = 0;

server.on("stream", (stream, headers) => {
  if (headers[":method"] === "GET" && headers[":path"] === "/_count") {
    stream.respond({ ":status": 200, "content-type": "application/json" });
    stream.end(JSON.stringify({ answered }));
    return;
  }
  stream.on("data", () => {});
  stream.on("end", () => {
    answered += 1;
    stream.respond({ ":status": 200, "apns-id": headers["apns-id"] || "" }, { endStream: true });
  });
  stream.on("error", () => {});
});
server.on("sessionError", () => {});
server.listen(Number(port), "127.0.0.1", () => process.stdout.write("ready\n"));
process.on("SIGTERM", () => process.exit(0));
