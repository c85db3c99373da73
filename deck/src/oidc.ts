// Signing in through an OpenID Connect provider: the authorization-code flow with PKCE, in the browser.
//
// The UI is a public client: it sends the user to the provider's authorization endpoint with a
// one-time code challenge, takes the code the provider sends back to `/?code=…&state=…`, trades it
// at the token endpoint for an ID token, and from then on sends that token to the gateway as
// `Authorization: Bearer`, which checks it against the provider's keys like any other client's.

import type { OidcSettings } from './auth';

const PENDING = 'gennaker.oidc.pending';

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
}

function randomText(bytes = 32): string {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return base64url(data);
}

function base64url(data: Uint8Array): string {
  let text = '';
  for (const byte of data) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function discover(issuer: string): Promise<Discovery> {
  const response = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`the identity provider ${issuer} answered HTTP ${response.status} for its discovery document`);
  return (await response.json()) as Discovery;
}

function redirectUri(): string {
  return `${window.location.origin}/`;
}

/** Send the browser to the identity provider; it comes back to `/` with a code. */
export async function beginSignIn(oidc: OidcSettings): Promise<void> {
  const discovery = await discover(oidc.issuer);
  const verifier = randomText();
  const state = randomText(16);
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, tokenEndpoint: discovery.token_endpoint, hash: window.location.hash }));
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: oidc.clientId,
    redirect_uri: redirectUri(),
    scope: oidc.scopes,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  window.location.assign(`${discovery.authorization_endpoint}?${query}`);
}

/**
 * When the page is the provider's redirect back, trade the code for a token. Returns the token (and
 * puts the address back as it was before signing in), `null` when this is no redirect.
 */
export async function completeSignIn(oidc: OidcSettings): Promise<string | null> {
  const query = new URLSearchParams(window.location.search);
  const code = query.get('code');
  const returned = query.get('state');
  const failure = query.get('error');
  if (!code && !failure) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as
    | { verifier: string; state: string; tokenEndpoint: string; hash: string }
    | null;
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, '', `/${pending?.hash ?? ''}`);
  if (failure) throw new Error(`the identity provider refused the sign-in: ${query.get('error_description') ?? failure}`);
  if (!pending || pending.state !== returned) throw new Error('the sign-in answer does not match the request this page made; sign in again');
  const response = await fetch(pending.tokenEndpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: code ?? '',
      redirect_uri: redirectUri(),
      client_id: oidc.clientId,
      code_verifier: pending.verifier,
    }),
  });
  if (!response.ok) throw new Error(`the identity provider answered HTTP ${response.status} when trading the sign-in code`);
  const tokens = (await response.json()) as { id_token?: string; access_token?: string };
  const token = tokens.id_token ?? tokens.access_token;
  if (!token) throw new Error('the identity provider sent no ID token');
  return token;
}
