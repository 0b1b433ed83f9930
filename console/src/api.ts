// The console's only way to the server: the public JSON API under /api/v1, with the API token as a
// bearer header. The token lives in this tab's sessionStorage (never in a URL, never in a cookie):
// the live stream is read with fetch() rather than EventSource, which cannot send the header
// (docs/console.md "Signing in").

const TOKEN_KEY = 'zkpush.token';

export type Role = 'admin' | 'operator' | 'viewer';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = '',
    readonly field = '',
  ) {
    super(message);
  }
}

let token = sessionStorage.getItem(TOKEN_KEY) ?? '';
const signedOutListeners = new Set<() => void>();

export function currentToken(): string {
  return token;
}

export function setToken(value: string): void {
  token = value;
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// Called when the server refuses the token (revoked while the console is open): back to the login.
export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

function signedOut(): void {
  setToken('');
  for (const l of signedOutListeners) l();
}

async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: string; code?: string; field?: string };
    return new ApiError(response.status, body.error ?? response.statusText, body.code ?? '', body.field ?? '');
  } catch {
    return new ApiError(response.status, text.trim() || response.statusText || `HTTP ${response.status}`);
  }
}

export interface RequestOptions {
  body?: unknown;
  // Sent as is with this content type (the CSV import) instead of JSON.
  raw?: { text: string; type: string };
  // Answers that are not errors for this call (a door command's 504: the device did not answer in time).
  accept?: number[];
  signal?: AbortSignal;
  // The token to use instead of the stored one (the login checks a token before keeping it).
  token?: string;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Authorization: `Bearer ${options.token ?? token}` };
  let body: string | undefined;
  if (options.raw) {
    headers['Content-Type'] = options.raw.type;
    body = options.raw.text;
  } else if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, { method, headers, body, signal: options.signal, cache: 'no-store' });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'The server does not answer (network error)', 'unavailable');
  }
  if (!response.ok && !(options.accept ?? []).includes(response.status)) {
    const error = await errorOf(response);
    if (response.status === 401 && !options.token) signedOut();
    throw error;
  }
  const text = await response.text();
  return (text ? JSON.parse(text) : null) as T;
}

export const get = <T>(path: string, signal?: AbortSignal) => request<T>('GET', path, { signal });
export const post = <T>(path: string, body?: unknown, options: RequestOptions = {}) =>
  request<T>('POST', path, { ...options, body: body ?? {} });
export const patch = <T>(path: string, body: unknown) => request<T>('PATCH', path, { body });
export const del = <T>(path: string) => request<T>('DELETE', path);

export const enc = encodeURIComponent;

export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    parts.push(`${enc(k)}=${enc(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

// ---- the live stream ------------------------------------------------------------------------

export interface StreamMessage {
  id: number;
  kind: string; // "event" (no event: line), "door_state", "command", "device", "sync"
  data: any;
}

export type StreamState = 'connecting' | 'live' | 'retrying';

const SILENCE_MS = 45_000;

// Reads GET /api/v1/stream?kinds=* with fetch and parses the Server-Sent Events itself; after a
// failure it reconnects with Last-Event-ID so that nothing the server's log holds is missed.
export function openStream(onMessage: (m: StreamMessage) => void, onState: (s: StreamState) => void): () => void {
  let closed = false;
  let lastId = 0;
  let controller: AbortController | null = null;
  let delay = 1000;

  const run = async () => {
    while (!closed) {
      const ctl = new AbortController();
      controller = ctl;
      // The server sends a keep-alive comment every 15 s: silence for 45 s is a dead connection
      // (a cable pulled, a proxy that dropped it) that no read would ever report.
      let watchdog: ReturnType<typeof setTimeout> | undefined;
      const arm = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => ctl.abort(), SILENCE_MS);
      };
      onState('connecting');
      try {
        arm();
        const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' };
        if (lastId) headers['Last-Event-ID'] = String(lastId);
        const response = await fetch('/api/v1/stream?kinds=*', { headers, signal: ctl.signal, cache: 'no-store' });
        if (response.status === 401) {
          signedOut();
          return;
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        onState('live');
        delay = 1000;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          arm();
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n?/g, '\n');
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const m = parseBlock(block);
            if (m) {
              lastId = Math.max(lastId, m.id);
              try {
                onMessage(m);
              } catch (e) {
                console.error('stream listener failed', e);
              }
            }
          }
        }
      } catch (e) {
        if (closed) return;
        console.warn('stream interrupted', e);
      } finally {
        clearTimeout(watchdog);
        ctl.abort();
      }
      if (closed) return;
      onState('retrying');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10000);
    }
  };
  void run();
  return () => {
    closed = true;
    controller?.abort();
  };
}

function parseBlock(block: string): StreamMessage | null {
  let id = 0;
  let kind = 'event';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'id') id = Number(value) || 0;
    else if (field === 'event') kind = value;
    else if (field === 'data') data.push(value);
  }
  if (!data.length) return null;
  try {
    return { id, kind, data: JSON.parse(data.join('\n')) };
  } catch {
    return null;
  }
}
