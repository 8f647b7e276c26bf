// Package auth authenticates requests to the admin API, which can create
// and revoke gateway keys, change prices and routes and read every usage
// record: an admin API open by accident gives all of that away. So
// ADMIN_AUTH must name one of three modes, and a service started without it,
// or with anything else, refuses to start and says which modes exist and
// what each needs. No default is safe for everyone: cognito needs a user
// pool to exist, token a secret to be made, and none is only acceptable on
// a developer's machine.
//
// # cognito
//
// Users sign in through a Cognito user pool and present its ID token or
// access token as "Authorization: Bearer <jwt>". A token is accepted when
//
//   - it is signed with RS256 by the key its kid names in the pool's JWKS
//     (<issuer>/.well-known/jwks.json); none, HS* and every other algorithm
//     are refused, so a public key can never be used as an HMAC secret, and
//     so is a token without a kid;
//   - iss is the pool's issuer, https://cognito-idp.<region>.amazonaws.com/<pool id>
//     unless ADMIN_COGNITO_ISSUER overrides it;
//   - exp is present and not passed, and nbf and iat, when present, are not
//     in the future, each with Leeway (30 s) for clock skew;
//   - token_use is "id" with an aud, or "access" with a client_id, among
//     ADMIN_COGNITO_CLIENT_IDS;
//   - cognito:groups contains "admin" (read and write) or "viewer" (read
//     only). A valid token in neither group is refused with EForbidden.
//
// The keys are fetched when New runs, cached, and fetched again every
// KeyRefreshInterval (an hour), which drops a withdrawn key. A token whose kid is not cached triggers a fetch, so
// a key rotation is picked up at once, but at most one such fetch happens
// per UnknownKIDRefreshInterval: a flood of tokens with forged kids is
// refused from the cache and costs Cognito one request per interval.
//
// If the first fetch fails, New still succeeds: Cognito may be unreachable
// for a moment, and the rest of the admin API (and its health check) should
// come up. The failure is logged, the fetch retried every KeyRetryInterval,
// and until it succeeds Authenticate returns EUnavailable, which the admin
// API answers with 503 and a message saying the sign-in keys are not
// available yet. Once fetched, keys stay in use while later fetches fail.
//
// # token
//
// Scripts and local tools present "Authorization: Bearer <ADMIN_TOKEN>".
// ADMIN_TOKEN must be at least MinTokenLength characters and may not be
// the gateway's MASTER_API_KEY; the comparison takes the same time whatever
// is presented. The principal is an admin.
// Gateway API keys (sk-...) are not admin credentials: one presented here is
// just a wrong token.
//
// # none
//
// No authentication: every request is an admin, "anonymous (ADMIN_AUTH=none)".
// Allowed only when the admin API listens on a loopback address
// (127.0.0.0/8, ::1 or localhost), so that only the machine itself reaches
// it; ":8005" or "0.0.0.0:8005" is refused at start. The service logs
// Authenticator.Warning at start so the mode is never on unnoticed. Do not
// put a proxy in front of it.
//
// Authenticate never logs or echoes a token: its errors carry messages safe
// to show the caller.
package auth
