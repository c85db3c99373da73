// The signed-in user and the gateway's settings, shared by every view.

import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { authorizations, type Permission, type Permissions, type Settings, type User } from './auth';

export interface Session {
  settings: Settings;
  user: User;
  /** What the user may do to a resource with these Spinnaker `permissions`. */
  may: (permissions: Permissions) => Set<Permission>;
  signOut: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}

export function makeSession(settings: Settings, user: User, signOut: () => void): Session {
  return {
    settings,
    user,
    may: (permissions) => authorizations(user, permissions, settings.executeFallback),
    signOut,
  };
}
