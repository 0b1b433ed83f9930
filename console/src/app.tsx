// The console's frame: sign-in, the navigation, and the page the location's hash names
// (#/live, #/events, #/people, #/config/…, #/insight/…). Hash routes need nothing from the server
// beyond index.html, and a reload keeps the page.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, currentToken, onSignedOut, request, setToken, type Role } from './api';
import { startLive, stopLive, useStreamState } from './live';
import { ConfigPage } from './pages/config';
import { EventsPage } from './pages/events';
import { InsightPage } from './pages/insight';
import { LivePage } from './pages/live';
import { Login } from './pages/login';
import { PeoplePage } from './pages/people';
import { SessionContext, Toasts, type Session } from './ui';

export interface Me {
  role: Role;
  name: string;
}

function useHash(): string[] {
  const part = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s; // a malformed escape (#/people/%E0): the text as typed, which finds nothing
    }
  };
  const read = () => (location.hash.replace(/^#\/?/, '') || 'live').split('/').map(part);
  const [parts, setParts] = useState(read);
  useEffect(() => {
    const on = () => setParts(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return parts;
}

const pages = [
  { id: 'live', label: 'Live' },
  { id: 'events', label: 'Events' },
  { id: 'people', label: 'People' },
  { id: 'config', label: 'Configuration' },
  { id: 'insight', label: 'Insight' },
];

export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState(!!currentToken());

  // A token kept in this tab (a reload) is checked again before it is used; only the server's
  // refusal forgets it (a server restarting, or the network, is worth another try).
  const [unreachable, setUnreachable] = useState('');
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (!currentToken()) return;
    request<Me>('GET', '/me')
      .then((me) => {
        setUnreachable('');
        setSession({ role: me.role, name: me.name });
      })
      .catch((e) => {
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) setToken('');
        else setUnreachable(e instanceof Error ? e.message : String(e));
      })
      .finally(() => setChecking(false));
  }, [attempt]);
  useEffect(() => onSignedOut(() => setSession(null)), []);
  useEffect(() => {
    if (!session) return;
    startLive();
    return stopLive;
  }, [session]);

  if (checking) return <p class="muted center">Signing in…</p>;
  if (!session && unreachable && currentToken())
    return (
      <main class="login" id="main">
        <div class="card login-card" role="alert">
          <h1>The server does not answer</h1>
          <p>{unreachable}</p>
          <button type="button" class="btn btn-primary" onClick={() => (setChecking(true), setAttempt((a) => a + 1))}>
            Try again
          </button>
          <button type="button" class="btn btn-plain" onClick={() => (setToken(''), setUnreachable(''))}>
            Sign in with another token
          </button>
        </div>
      </main>
    );
  if (!session)
    return (
      <>
        <Login onSignedIn={(me, token) => (setToken(token), setSession({ role: me.role, name: me.name }))} />
        <Toasts />
      </>
    );
  return (
    <SessionContext.Provider value={session}>
      <Frame
        session={session}
        onSignOut={() => {
          setToken('');
          setSession(null);
        }}
      />
    </SessionContext.Provider>
  );
}

function Frame({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const parts = useHash();
  const page = parts[0];
  const stream = useStreamState();
  useEffect(() => {
    const label = pages.find((p) => p.id === page)?.label ?? 'Not found';
    document.title = `${label} · zkpush`;
  }, [page]);
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand" aria-hidden="true">
          zkpush
        </span>
        <nav aria-label="Pages" class="pages">
          {pages.map((p) => (
            <a key={p.id} href={`#/${p.id}`} aria-current={p.id === page ? 'page' : undefined} class={p.id === page ? 'current' : ''}>
              {p.label}
            </a>
          ))}
        </nav>
        <div class="who">
          <span class={`stream stream-${stream}`} title="The live stream of events from the server">
            {stream === 'live' ? 'Live' : stream === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
          </span>
          <span class="role" title="The role of the token you signed in with">
            {session.name} · {session.role}
          </span>
          <button type="button" class="btn btn-plain btn-small" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page === 'live' ? (
          <LivePage />
        ) : page === 'events' ? (
          <EventsPage />
        ) : page === 'people' ? (
          <PeoplePage pin={parts[1]} />
        ) : page === 'config' ? (
          <ConfigPage tab={parts[1]} />
        ) : page === 'insight' ? (
          <InsightPage sn={parts[1] === 'trace' ? parts[2] : undefined} />
        ) : (
          <section class="card">
            <h1>Not found</h1>
            <p>
              There is no page here. <a href="#/live">Go to Live</a>.
            </p>
          </section>
        )}
      </main>
      <Toasts />
    </>
  );
}
