// A real OpenID Connect provider for Porta's tests: panva's `oidc-provider`
// (OpenID Certified) with its development login and consent forms.
//
// Started by `porta_testkit::oidc::OidcProvider` as
//     node provider.mjs CONFIG.json
// from a per-instance directory whose `node_modules` links to the shared
// npm install. CONFIG.json holds what differs per instance:
//     { "port": 12345, "redirect_uris": ["http://127.0.0.1:8080/cb"],
//       "id_token_ttl_seconds": 600, "cookie_key": "…",
//       "clients": [{ "client_id": "porta", "client_secret": "…" }, …] }
// Everything else (accounts, claims, policies) is fixed here so that every
// test sees the same provider.

import { readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;

// Account id (what the login form's `login` field takes) → claims; the
// Rust side lists the ids in `ACCOUNTS` (testkit/src/oidc.rs). Carol has
// no `email_verified` at all: a provider that does not say is not a yes.
// Dave's email does not match his name: the email, not the name, is what
// identifies a user.
const accounts = {
  alice: { email: 'alice@example.test', email_verified: true, name: 'Alice Example' },
  bob: { email: 'bob@example.test', email_verified: false, name: 'Bob' },
  carol: { email: 'carol@example.test', name: 'Carol' },
  dave: { email: 'jane@globex.example', email_verified: true, name: 'Dave' },
};

// A fresh signing key per instance: without `jwks` the library uses fixed
// development keys (and warns).
const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ format: 'jwk' });

const ttl = config.id_token_ttl_seconds;

const provider = new Provider(issuer, {
  clients: config.clients.map(({ client_id, client_secret }) => ({
    client_id,
    client_secret,
    redirect_uris: config.redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    // The library accepts client_secret_post too for a client registered
    // with client_secret_basic (both are "the secret"), and vice versa.
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  // The authorization code flow only.
  responseTypes: ['code'],
  jwks: { keys: [{ ...signingKey, kid: 'porta-test', use: 'sig', alg: 'RS256' }] },
  // PKCE (S256, the only method the library implements) for every client.
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Put the scopes' claims into the ID token too, not only into userinfo:
  // a relying party may read either.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    // No refresh tokens, no registration, no introspection: not needed.
  },
  async findAccount(_ctx, sub) {
    const account = accounts[sub];
    if (!account) {
      console.error(`findAccount: unknown account ${JSON.stringify(sub)}`);
      return undefined;
    }
    return {
      accountId: sub,
      async claims() {
        return { sub, ...account };
      },
    };
  },
  cookies: { keys: [config.cookie_key] },
  // Error pages as one line of JSON ({"error": …, "error_description": …}):
  // what the harness quotes when a flow fails.
  async renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
  // Explicit lifetimes (the library warns about each default it uses).
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    Grant: 3600,
    IdToken: ttl,
    Interaction: 600,
    Session: 3600,
  },
});
// The tests talk to it directly, never through a proxy: trust no
// X-Forwarded-* headers.
provider.proxy = false;

// One line per request, and every error the library reports, for the log
// the harness shows when a test fails.
provider.use(async (ctx, next) => {
  await next();
  console.log(`${ctx.method} ${ctx.path} -> ${ctx.status}`);
});
for (const event of [
  'authorization.error',
  'grant.error',
  'userinfo.error',
  'discovery.error',
  'jwks.error',
  'server_error',
]) {
  provider.on(event, (_ctx, error) => {
    console.error(`${event}: ${error?.name ?? ''} ${error?.message ?? error} ${error?.error_description ?? ''}`);
  });
}

const server = provider.listen(config.port, '127.0.0.1');
server.on('listening', () => console.log(`oidc-provider listening on ${issuer}`));
server.on('error', (error) => {
  console.error(`listen on 127.0.0.1:${config.port}: ${error.code ?? ''} ${error.message}`);
  process.exit(1);
});

// The harness holds our stdin open; when it goes away (the test process was
// killed before it could kill us), so do we, instead of lingering forever.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
