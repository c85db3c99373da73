// The one place the UI talks to the gateway: Gate's HTTP API, JSON in and out, errors in words.
//
// Every call goes to the page's own origin with the caller's bearer token (when there is one) and,
// for writes, a JSON body with `Content-Type: application/json`. A failure becomes an ApiError whose
// message is the gateway's own sentence (Gate's `message`, or the gateway's `error`) and whose
// `field` names the input to fix, so views can show it next to the action or the field.

export type Json = Record<string, unknown>;

export interface FieldProblem {
  field: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly field: string | undefined;
  readonly problems: FieldProblem[];

  constructor(status: number, message: string, field?: string, problems: FieldProblem[] = []) {
    super(message);
    this.status = status;
    this.field = field;
    this.problems = problems;
  }
}

const TOKEN_KEY = 'gennaker.token';
let unauthorised: (() => void) | undefined;

export function token(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(value: string | null): void {
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

/** Called when the gateway answers 401: the app shows the login page. */
export function onUnauthorised(handler: () => void): void {
  unauthorised = handler;
}

export function headers(extra: Record<string, string> = {}): Record<string, string> {
  const result: Record<string, string> = { Accept: 'application/json', ...extra };
  const bearer = token();
  if (bearer) result.Authorization = `Bearer ${bearer}`;
  return result;
}

function describe(status: number, body: unknown, response: Response): ApiError {
  if (body && typeof body === 'object') {
    const data = body as Json;
    const message = typeof data.message === 'string' ? data.message : typeof data.error === 'string' ? data.error : '';
    const field = typeof data.field === 'string' ? data.field : undefined;
    const problems = Array.isArray(data.problems) ? (data.problems as FieldProblem[]) : [];
    if (message) return new ApiError(status, withAdvice(status, message, response), field, problems);
  }
  return new ApiError(status, withAdvice(status, `the gateway answered HTTP ${status}`, response));
}

function withAdvice(status: number, message: string, response: Response): string {
  if (status === 503) {
    const retry = response.headers.get('Retry-After');
    return `${message} (the gateway cannot reach a service right now${retry ? `; try again in ${retry} s` : ''})`;
  }
  if (status === 504) return message.includes('in time') ? message : `${message} (a service did not answer in time)`;
  return message;
}

/** One call to the gateway; resolves with the JSON answer, rejects with an ApiError. */
export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      // writes always say JSON, even without a body: the gateway refuses other writes from browsers
      headers: headers(method === 'GET' ? {} : { 'Content-Type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'cannot reach the gateway; check that it is running and reload the page');
  }
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!response.ok) {
    if (response.status === 401 && unauthorised) unauthorised();
    throw describe(response.status, parsed, response);
  }
  return parsed as T;
}

export const get = <T = unknown>(path: string) => api<T>('GET', path);
export const post = <T = unknown>(path: string, body: unknown) => api<T>('POST', path, body);
export const put = <T = unknown>(path: string, body?: unknown) => api<T>('PUT', path, body);
export const patch = <T = unknown>(path: string, body: unknown) => api<T>('PATCH', path, body);
export const del = <T = unknown>(path: string) => api<T>('DELETE', path);

/** A path segment, escaped: names come from users and may hold anything. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}

/** The message of anything thrown, in words. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
