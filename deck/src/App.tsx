// The page around every view: who is signed in, where you are, and which view the route asks for.

import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, messageOf, onUnauthorised, setToken } from './api';
import { loadSettings, loadUser, type Settings, type User } from './auth';
import { ErrorText } from './components/common';
import { href, useLocation } from './router';
import { makeSession, SessionContext } from './session';
import { ApplicationPage } from './views/ApplicationPage';
import { Applications } from './views/Applications';
import { Login } from './views/Login';

type Boot =
  | { phase: 'loading' }
  | { phase: 'login'; settings: Settings; reason?: string }
  | { phase: 'ready'; settings: Settings; user: User }
  | { phase: 'failed'; error: Error };

export function App() {
  const [boot, setBoot] = useState<Boot>({ phase: 'loading' });
  const location = useLocation();

  const start = useCallback(async (reason?: string) => {
    let settings: Settings;
    try {
      settings = await loadSettings();
    } catch (error) {
      setBoot({ phase: 'failed', error: error instanceof Error ? error : new Error(messageOf(error)) });
      return;
    }
    try {
      setBoot({ phase: 'ready', settings, user: await loadUser() });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) setBoot({ phase: 'login', settings, reason: reason ?? error.message });
      else setBoot({ phase: 'failed', error: error instanceof Error ? error : new Error(messageOf(error)) });
    }
  }, []);

  useEffect(() => {
    onUnauthorised(() =>
      setBoot((old) => (old.phase === 'ready' ? { phase: 'login', settings: old.settings, reason: 'your session ended: sign in again' } : old)),
    );
    void start();
  }, [start]);

  if (boot.phase === 'loading') return <p class="booting">Loading Gennaker…</p>;
  if (boot.phase === 'failed')
    return (
      <main class="page">
        <h1>Gennaker cannot start</h1>
        <ErrorText error={boot.error} />
        <button type="button" class="btn" onClick={() => void start()}>
          Try again
        </button>
      </main>
    );
  if (boot.phase === 'login')
    return <Login settings={boot.settings} reason={boot.reason} onSignedIn={() => void start()} />;

  const signOut = () => {
    setToken(null);
    void start('signed out');
  };
  const session = makeSession(boot.settings, boot.user, signOut);
  const [section, application] = location.parts;
  return (
    <SessionContext.Provider value={session}>
      <header class="top">
        <a class="brand" href={href(['applications'])}>
          Gennaker
        </a>
        <nav>
          <a href={href(['applications'])} class={section !== 'applications' || !application ? 'active' : ''}>
            Applications
          </a>
        </nav>
        <span class="who" data-testid="user">
          {boot.user.username}
          {boot.user.admin && boot.settings.authMode !== 'none' ? ' (admin)' : ''}
        </span>
        {boot.settings.authMode !== 'none' && (
          <button type="button" class="btn btn-plain" onClick={signOut}>
            Sign out
          </button>
        )}
      </header>
      {section === 'applications' && application ? (
        <ApplicationPage name={application} location={location} />
      ) : (
        <Applications query={location.query} />
      )}
    </SessionContext.Provider>
  );
}
