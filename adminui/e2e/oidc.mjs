// A small OpenID Connect provider for the end-to-end tests, standing in
// for a Cognito user pool: discovery, JWKS, an authorization endpoint that
// signs in a fixed user at once, and a token endpoint that checks PKCE and
// issues RS256 tokens shaped like Cognito's (token_use, cognito:groups).
// The admin API verifies them exactly as it verifies Cognito's, through
// ADMIN_COGNITO_ISSUER; the portal signs in through its real OIDC code.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { createServer } from 'node:http';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/**
 * startOIDC serves a provider on 127.0.0.1 whose users all sign in as
 * user ({ username, email, groups }), for the app client clientId.
 */
export async function startOIDC({ clientId, user }) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = b64url(randomBytes(8));
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  const codes = new Map();
  let issuer = '';

  const jwt = (claims) => {
    const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }));
    const body = b64url(JSON.stringify(claims));
    return `${head}.${body}.${b64url(sign('sha256', Buffer.from(`${head}.${body}`), privateKey))}`;
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, issuer);
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Authorization');
    const json = (status, v) => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify(v));
    };
    if (req.method === 'OPTIONS') return res.writeHead(204).end();
    switch (url.pathname) {
      case '/.well-known/openid-configuration':
        return json(200, {
          issuer,
          authorization_endpoint: `${issuer}/oauth2/authorize`,
          token_endpoint: `${issuer}/oauth2/token`,
          jwks_uri: `${issuer}/.well-known/jwks.json`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
        });
      case '/.well-known/jwks.json':
        return json(200, { keys: [jwk] });
      case '/oauth2/authorize': {
        const p = url.searchParams;
        if (p.get('client_id') !== clientId || p.get('response_type') !== 'code' || p.get('code_challenge_method') !== 'S256' || !p.get('code_challenge')) {
          return json(400, { error: 'invalid_request' });
        }
        const code = b64url(randomBytes(16));
        codes.set(code, { challenge: p.get('code_challenge'), redirect: p.get('redirect_uri'), nonce: p.get('nonce') });
        const back = new URL(p.get('redirect_uri'));
        back.searchParams.set('code', code);
        if (p.get('state')) back.searchParams.set('state', p.get('state'));
        res.writeHead(302, { Location: back.toString() });
        return res.end();
      }
      case '/oauth2/token': {
        let raw = '';
        for await (const chunk of req) raw += chunk;
        const f = new URLSearchParams(raw);
        const c = codes.get(f.get('code'));
        codes.delete(f.get('code'));
        const verifier = f.get('code_verifier') ?? '';
        if (!c || f.get('grant_type') !== 'authorization_code' || f.get('redirect_uri') !== c.redirect || b64url(createHash('sha256').update(verifier).digest()) !== c.challenge) {
          return json(400, { error: 'invalid_grant' });
        }
        const now = Math.floor(Date.now() / 1000);
        const common = { iss: issuer, sub: `sub-${user.username}`, iat: now, exp: now + 3600, 'cognito:groups': user.groups };
        return json(200, {
          token_type: 'Bearer',
          expires_in: 3600,
          id_token: jwt({ ...common, aud: clientId, token_use: 'id', 'cognito:username': user.username, email: user.email, ...(c.nonce ? { nonce: c.nonce } : {}) }),
          access_token: jwt({ ...common, client_id: clientId, token_use: 'access', username: user.username, scope: 'openid email profile' }),
        });
      }
    }
    json(404, { error: 'not_found' });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${server.address().port}`;
  return { issuer, close: () => new Promise((resolve) => server.close(resolve)) };
}
