// A real OpenID provider (panva/oidc-provider, OpenID Certified) for zenpro's SSO tests.
//
// Started by tests/sso/conftest.py on 127.0.0.1 with:
//   PORT             port to listen on (127.0.0.1 only)
//   ZENPRO_URL       zenpro's base URL: the clients' redirect and post-logout URIs
//   CLIENTS          JSON [{"client_id", "client_secret", "key"}]: one client per zenpro
//                    provider configuration (redirect URI <ZENPRO_URL>/auth/oidc/<key>/callback)
//   ID_TOKEN_SUB_ONLY "1": the ID token carries no email or name (oidc-provider's default,
//                    conformIdTokenClaims), so a relying party must ask the UserInfo endpoint
//
// Users: devInteractions' login form accepts any login that looks like an email address;
// the login *is* the account: sub = email = <login>, email_verified unless
// the local part starts with "unverified-". So each test signs in as its own person.
//
// Keys: a fresh RSA key (random kid) at every start; restarting the process rotates them.
//
// Test-only controls (never in a real provider), under /__test/:
//   POST /__test/tamper?mode=<m>  the next token response carries an ID token forged in
//                                 way <m>, made with real keys (see forge() below), so
//                                 zenpro's unchanged validation must refuse it
//   GET  /__test/stats            {"jwks": <GETs of the JWKS so far>, "kid": <current kid>}
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import * as jose from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const zenpro = process.env.ZENPRO_URL;
const clients = JSON.parse(process.env.CLIENTS);
const issuer = `http://127.0.0.1:${port}`;

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await jose.exportJWK(privateKey)), kid: randomUUID(), alg: 'RS256', use: 'sig' };
const signingKey = await jose.importJWK(signingJwk, 'RS256');
const publicJwk = { kty: signingJwk.kty, n: signingJwk.n, e: signingJwk.e, kid: signingJwk.kid, alg: 'RS256', use: 'sig' };

function account(login) {
  if (typeof login !== 'string' || !/^[a-z0-9._+-]+@[a-z0-9.-]+$/.test(login)) return undefined;
  const local = login.split('@')[0];
  return {
    accountId: login,
    async claims() {
      return {
        sub: login,
        email: login,
        email_verified: !local.startsWith('unverified-'),
        name: `Test ${local}`,
      };
    },
  };
}

const provider = new Provider(issuer, {
  clients: clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: [`${zenpro}/auth/oidc/${c.key}/callback`],
    post_logout_redirect_uris: [`${zenpro}/login`],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  })),
  jwks: { keys: [signingJwk] },
  findAccount: async (ctx, id) => account(id),
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // Email and name in the ID token itself, as Google, Keycloak and Entra ID send them
  // (unless ID_TOKEN_SUB_ONLY: then only at UserInfo).
  conformIdTokenClaims: process.env.ID_TOKEN_SUB_ONLY === '1',
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  pkce: { required: () => true },
  cookies: { keys: ['zenpro-test-idp-cookie-key'] },
});
provider.proxy = false;

let tamper = null;
let jwksGets = 0;

// Forged ID tokens, each with real keys: what a broken or hostile provider could send.
async function forge(original, mode) {
  const claims = jose.decodeJwt(original);
  const now = Math.floor(Date.now() / 1000);
  const sign = (payload, key = signingKey, header = { alg: 'RS256', kid: signingJwk.kid }) =>
    new jose.SignJWT(payload).setProtectedHeader(header).sign(key);
  switch (mode) {
    case 'wrong_nonce':
      return sign({ ...claims, nonce: 'not-the-nonce-of-this-flow' });
    case 'wrong_aud':
      return sign({ ...claims, aud: 'some-other-client' });
    case 'several_aud_no_azp':
      return sign({ ...claims, aud: [claims.aud, 'some-other-client'], azp: undefined });
    case 'expired':
      return sign({ ...claims, iat: now - 7200, exp: now - 3600 });
    case 'wrong_iss':
      return sign({ ...claims, iss: 'http://127.0.0.1:1/evil' });
    case 'foreign_key': {
      // A genuine RS256 signature, by a key this provider does not publish.
      const { privateKey: other } = await jose.generateKeyPair('RS256');
      return sign(claims, other, { alg: 'RS256', kid: 'not-published' });
    }
    case 'foreign_key_same_kid': {
      const { privateKey: other } = await jose.generateKeyPair('RS256');
      return sign(claims, other);
    }
    case 'alg_none':
      return new jose.UnsecuredJWT(claims).encode();
    case 'hmac_public_key': {
      // HS256 keyed with the published public key: verifies wherever a verifier lets the
      // token's header pick the algorithm for the key it holds.
      const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
      return sign(claims, secret, { alg: 'HS256', kid: signingJwk.kid });
    }
    default:
      throw new Error(`unknown tamper mode ${mode}`);
  }
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/jwks') jwksGets += 1;
  await next();
  if (ctx.path === '/token' && tamper && ctx.body && ctx.body.id_token) {
    const mode = tamper;
    tamper = null;
    ctx.body = { ...ctx.body, id_token: await forge(ctx.body.id_token, mode) };
  }
});

const handler = provider.callback();
createServer((req, res) => {
  const url = new URL(req.url, issuer);
  if (url.pathname === '/__test/tamper' && req.method === 'POST') {
    tamper = url.searchParams.get('mode');
    res.writeHead(204).end();
  } else if (url.pathname === '/__test/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jwks: jwksGets, kid: signingJwk.kid, tamper }));
  } else {
    handler(req, res);
  }
}).listen(port, '127.0.0.1', () => {
  process.stdout.write(`test IdP at ${issuer} (kid ${signingJwk.kid})\n`);
});
