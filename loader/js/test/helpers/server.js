'use strict';
// A real HTTP server on 127.0.0.1 serving a repository directory under /tuf/ like `x0x-dist serve`, with
// Range support, per-path request counts, and fault injection (drop a target mid-body, delay, 500s), and
// redirects (opts.redirectTargetsTo: 302 every target to another server, like a CDN offload; redirectLoop:
// every request answers 307 to itself), and a slow drip (drip: a substring of the paths, e.g. '/targets/' or
// 'timestamp.json', whose bodies are sent one byte per dripMs, default 1000: never idle, never done).

const http = require('http');
const fs = require('fs');
const path = require('path');

function serve(root, opts = {}) {
  const counts = new Map();
  const faults = { dropTargetOnce: false, failFirst: 0, delayMs: 0, ...opts };
  const handler = (req, res) => {
    const u = new URL(req.url, 'http://x');
    if (u.pathname === '/__counts') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(Object.fromEntries(counts)));
    }
    if (u.pathname === '/__faults') {
      for (const [k, v] of u.searchParams) faults[k] = v === 'true' ? true : v === 'false' ? false : Number(v);
      return res.end('ok');
    }
    counts.set(u.pathname, (counts.get(u.pathname) || 0) + 1);
    const go = () => {
      if (faults.failFirst > 0) {
        faults.failFirst -= 1;
        res.writeHead(503).end();
        return;
      }
      if (faults.redirectLoop) return res.writeHead(307, { location: u.pathname }).end();
      if (opts.redirectTargetsTo && u.pathname.startsWith('/tuf/targets/')) {
        return res.writeHead(302, { location: `${opts.redirectTargetsTo}${u.pathname}` }).end();
      }
      if (!u.pathname.startsWith('/tuf/')) return res.writeHead(404).end();
      const file = path.join(root, ...u.pathname.slice(5).split('/').map(decodeURIComponent));
      if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) return res.writeHead(404).end();
      const data = fs.readFileSync(file);
      const range = /^bytes=(\d+)-$/.exec(req.headers.range || '');
      if (range) {
        const start = Number(range[1]);
        res.writeHead(206, { 'content-length': data.length - start, 'content-range': `bytes ${start}-${data.length - 1}/${data.length}` });
        return res.end(data.subarray(start));
      }
      res.writeHead(200, { 'content-length': data.length });
      if (faults.drip && u.pathname.includes(faults.drip)) {
        let i = 0;
        const tick = setInterval(() => {
          if (i >= data.length || res.destroyed) return clearInterval(tick);
          res.write(data.subarray(i, i + 1));
          i += 1;
          if (i === data.length) res.end();
          return undefined;
        }, faults.dripMs || 1000);
        res.on('close', () => clearInterval(tick));
        return undefined;
      }
      if (faults.dropTargetOnce && u.pathname.includes('/targets/') && data.length > 2) {
        faults.dropTargetOnce = false;
        res.write(data.subarray(0, Math.floor(data.length / 2)));
        setTimeout(() => res.socket.destroy(), 20);
        return undefined;
      }
      return res.end(data);
    };
    if (faults.delayMs) setTimeout(go, faults.delayMs);
    else go();
    return undefined;
  };
  const server = opts.tls
    ? require('https').createServer({ key: fs.readFileSync(opts.tls.key), cert: fs.readFileSync(opts.tls.cert) }, handler)
    : http.createServer(handler);
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
        counts,
        faults,
        count: (pred) => [...counts].filter(([p]) => pred(p)).reduce((a, [, n]) => a + n, 0),
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
      });
    });
  });
}

/**
 * The same server in a child process (tests that call the synchronous loader would block an in-process
 * server). Resolves with {url, counts(), setFaults(), close()}.
 */
function serveChild(root, opts = {}) {
  const { spawn } = require('child_process');
  const child = spawn(process.execPath, [__filename, root, JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.on('error', reject);
    child.stdout.on('data', (d) => {
      buf += d;
      const m = /^(https?:\S+)\n/.exec(buf);
      if (!m) return;
      const url = m[1];
      const get = (p) =>
        new Promise((ok, ko) => {
          const mod = url.startsWith('https') ? require('https') : http;
          mod.get(`${url}${p}`, { rejectUnauthorized: false }, (r) => {
            let b = '';
            r.on('data', (c) => { b += c; });
            r.on('end', () => ok(b));
          }).on('error', ko);
        });
      resolve({
        url,
        counts: async () => JSON.parse(await get('/__counts')),
        setFaults: (q) => get(`/__faults?${new URLSearchParams(q)}`),
        close: () => new Promise((r) => { child.once('exit', r); child.kill(); }),
      });
    });
  });
}

if (require.main === module) {
  serve(process.argv[2], JSON.parse(process.argv[3] || '{}')).then((s) => process.stdout.write(`${s.url}\n`));
}

module.exports = { serve, serveChild };
