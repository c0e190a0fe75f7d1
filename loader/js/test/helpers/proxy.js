'use strict';
// A forward proxy for tests: CONNECT tunnels (https) and absolute-URI requests (http), each logged as one
// line to the file named by argv[2]. Prints its URL on stdout.
const http = require('http');
const net = require('net');
const fs = require('fs');

const log = (l) => fs.appendFileSync(process.argv[2], `${l}\n`);
const server = http.createServer((req, res) => {
  log(`GET ${req.url}`);
  const u = new URL(req.url);
  const up = http.request(u, { method: req.method, headers: { ...req.headers, host: u.host } }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  up.on('error', () => res.writeHead(502).end());
  req.pipe(up);
});
server.on('connect', (req, socket, head) => {
  log(`CONNECT ${req.url}`);
  const [host, port] = req.url.split(':');
  const up = net.connect(Number(port), host, () => {
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    up.write(head);
    up.pipe(socket);
    socket.pipe(up);
  });
  up.on('error', () => socket.destroy());
  socket.on('error', () => up.destroy());
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${server.address().port}\n`));
