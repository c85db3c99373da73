// Signing in: an API token (auth mode "static"), or the identity provider (mode "oidc").

import { useEffect, useState } from 'preact/hooks';
import { get, messageOf, setToken } from '../api';
import type { Settings } from '../auth';
import { beginSignIn, completeSignIn } from '../oidc';

export function Login({ settings, reason, onSignedIn }: { settings: Settings; reason?: string; onSignedIn: () => void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!settings.oidc) return;
    completeSignIn(settings.oidc).then(
      (token) => {
        if (token) {
          setToken(token);
          onSignedIn();
        }
      },
      (failure: unknown) => setError(messageOf(failure)),
    );
  }, [settings, onSignedIn]);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setToken(value.trim());
    try {
      await get('/auth/user');
      onSignedIn();
    } catch (failure) {
      setToken(null);
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <h1>Sign in to Gennaker</h1>
      {reason && reason !== 'signed out' && <p class="hint">{reason}</p>}
      {settings.oidc && (
        <p>
          <button
            type="button"
            class="btn btn-primary"
            onClick={() => beginSignIn(settings.oidc!).catch((failure: unknown) => setError(messageOf(failure)))}
          >
            Sign in with your identity provider
          </button>
        </p>
      )}
      <form onSubmit={submit}>
        <label for="token">API token</label>
        <input
          id="token"
          type="password"
          autocomplete="current-password"
          value={value}
          onInput={(event) => setValue((event.target as HTMLInputElement).value)}
          placeholder="gnk_…"
        />
        <button type="submit" class="btn btn-primary" disabled={busy || !value.trim()}>
          Sign in
        </button>
        {error && (
          <div class="error" role="alert">
            {error}
          </div>
        )}
      </form>
      <p class="hint">An admin makes tokens with <code>python -m gateway.auth</code>.</p>
    </main>
  );
}
