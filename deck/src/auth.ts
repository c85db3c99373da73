// Who is using the UI and what they may do: Gate's `/auth/user` and Fiat's rule, as the gateway applies it.
//
// The gateway is the judge: every action is checked there again. The UI applies the same rule
// (schemas/authority.py) only to hide or disable what the user may not do, so a READ-only user
// is not offered buttons that would answer 403.

import { get } from './api';

export type Permission = 'READ' | 'WRITE' | 'EXECUTE';
export type Permissions = Partial<Record<string, string[] | string>> | null | undefined;

export interface User {
  username: string;
  email?: string | null;
  roles: string[];
  admin: boolean;
}

export interface OidcSettings {
  issuer: string;
  clientId: string;
  scopes: string;
}

/** What the gateway tells the UI about itself (served at /deck/settings.json, as Deck's settings.js). */
export interface Settings {
  authMode: 'none' | 'static' | 'oidc';
  executeFallback: 'READ' | 'WRITE';
  version: string;
  oidc: OidcSettings | null;
}

export async function loadSettings(): Promise<Settings> {
  return get<Settings>('/deck/settings.json');
}

export async function loadUser(): Promise<User> {
  return get<User>('/auth/user');
}

const ACTIONS: Permission[] = ['READ', 'WRITE', 'EXECUTE'];

function rolesUnder(permissions: NonNullable<Permissions>, action: Permission): Set<string> {
  const found = new Set<string>();
  for (const [key, roles] of Object.entries(permissions)) {
    if (key.trim().toUpperCase() !== action || roles == null) continue;
    for (const role of typeof roles === 'string' ? [roles] : roles) {
      if (typeof role === 'string' && role.trim()) found.add(role.trim().toLowerCase());
    }
  }
  return found;
}

/** Fiat's rule: admins may do anything; a resource naming no role is open; WRITE does not imply READ. */
export function authorizations(
  user: User | null,
  permissions: Permissions,
  executeFallback: 'READ' | 'WRITE' = 'READ',
): Set<Permission> {
  if (!user) return new Set();
  if (user.admin) return new Set(ACTIONS);
  const listed = new Map(ACTIONS.map((action) => [action, rolesUnder(permissions ?? {}, action)]));
  if (ACTIONS.every((action) => listed.get(action)!.size === 0)) return new Set(ACTIONS);
  if (listed.get('EXECUTE')!.size === 0) listed.set('EXECUTE', listed.get(executeFallback)!);
  const roles = new Set(user.roles.map((role) => role.trim().toLowerCase()));
  return new Set(ACTIONS.filter((action) => [...listed.get(action)!].some((role) => roles.has(role))));
}
