// A local CI issuer for the trusted-publishing tests: two real OpenID providers (the npm package
// `oidc-provider`, OpenID Certified, installed by scripts/setup.d/66-oidc-provider.sh) on loopback, "ci" and
// "other", each with its own RSA signing key, discovery document and JWKS.
//
// A CI runner asks its provider for an ID token with custom claims (GitHub's `repository`, `workflow_ref`, ...).
// The simplest real flow oidc-provider offers for that is a custom grant at its token endpoint: the client
// `x0x-ci` (client_secret_post) sends grant_type=urn:x0x:ci-id-token with `claims` (JSON), and the provider
// issues an ID token through its own IdToken model (signed with its keystore, `kid` set, iss/aud/iat/exp its own).
// Optional `expires_at` (epoch seconds; in the past for an expired token).
//
// `POST /forge` (not part of the provider) returns tokens an attacker could make: signed with a key the issuer
// never published, under an unknown `kid` or under the issuer's real `kid`. `POST /rotate` rotates the signing
// key (new `kid`; the JWKS lists the new and the old keys); `GET /stats` counts the JWKS fetches.
//
// Prints one JSON line {"ci": URL, "other": URL} on stdout once both listen; runs until killed.
// Env: OIDC_PROVIDER_DIR = the directory whose node_modules holds oidc-provider (and its dependency jose).
import http from 'node:http';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';

const dir = process.env.OIDC_PROVIDER_DIR;
if (!dir) throw new Error('OIDC_PROVIDER_DIR is not set');
const mod = (p) => import(pathToFileURL(path.join(dir, 'node_modules', p)).href);
const { default: Provider } = await mod('oidc-provider/lib/index.js');
const jose = await mod('jose/dist/webapi/index.js');

const GRANT = 'urn:x0x:ci-id-token';

async function start(name) {
  const server = http.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  // The signing keys, newest first: the provider signs with the first; `POST /rotate` adds a new one (the
  // JWKS then lists both, as an issuer rotating its key does) and rebuilds the provider around it.
  const keys = [];
  const newKey = async () => {
    const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
    return { ...(await jose.exportJWK(privateKey)), kid: `${name}-key-${keys.length + 1}`, alg: 'RS256', use: 'sig' };
  };
  keys.unshift(await newKey());
  // How many times the JWKS was fetched (`GET /stats`): the server's cache and refresh rate limit are visible.
  const stats = { jwks: 0 };
  const build = () => {
    const provider = new Provider(issuer, {
      // Each client's ID tokens carry its id as `aud`: `x0x-ci` is the audience the tests trust,
      // `other-audience` a job asking for a token meant for someone else.
      clients: ['x0x-ci', 'other-audience'].map((id) => ({
        client_id: id,
        client_secret: 'ci-secret',
        grant_types: [GRANT],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_post',
        id_token_signed_response_alg: 'RS256',
      })),
      jwks: { keys: [...keys] },
      features: { devInteractions: { enabled: false } },
      ttl: { IdToken: 300 },
    });
    provider.registerGrantType(GRANT, async (ctx) => {
      const params = ctx.oidc.params;
      const claims = JSON.parse(params.claims || '{}');
      const token = new provider.IdToken({ sub: claims.sub || 'repo:x0x-org/x0x:ref:refs/heads/main' }, { ctx });
      token.scope = 'openid';
      for (const [k, v] of Object.entries(claims)) if (k !== 'sub') token.set(k, v);
      token.set('jti', randomUUID());
      const expiresAt = params.expires_at ? Number(params.expires_at) : undefined;
      ctx.body = { id_token: await token.issue({ use: 'idtoken', expiresAt }), token_type: 'N_A' };
    }, ['claims', 'expires_at']);
    return provider.callback();
  };
  let callback = build();
  const forge = async (body) => {
    const { privateKey: evil } = await jose.generateKeyPair('RS256');
    const kid = body.kind === 'real_kid' ? keys[0].kid : 'forged-kid';
    const now = Math.floor(Date.now() / 1000);
    return new jose.SignJWT({ ...(body.claims || {}), jti: randomUUID() })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(issuer).setAudience('x0x-ci').setSubject(body.claims?.sub || 'repo:x0x-org/x0x:ref:refs/heads/main')
      .setIssuedAt(now).setExpirationTime(now + 300)
      .sign(evil);
  };
  const json = (res, v) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(v));
  };
  server.on('request', (req, res) => {
    if (req.method === 'POST' && req.url === '/forge') {
      let data = '';
      req.on('data', (c) => { data += c; });
      req.on('end', async () => json(res, { id_token: await forge(JSON.parse(data || '{}')) }));
      return;
    }
    if (req.method === 'POST' && req.url === '/rotate') {
      req.resume();
      req.on('end', async () => {
        keys.unshift(await newKey());
        callback = build();
        json(res, { kid: keys[0].kid });
      });
      return;
    }
    if (req.method === 'GET' && req.url === '/stats') return json(res, stats);
    if (req.url === '/jwks') stats.jwks += 1;
    callback(req, res);
  });
  return issuer;
}

const ci = await start('ci');
const other = await start('other');
process.stdout.write(`${JSON.stringify({ ci, other })}\n`);
