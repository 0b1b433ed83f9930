// Sign-in with an API token (`zkpush serve` prints where its admin token is; `POST /api/v1/tokens`
// makes more, with roles). The token is checked with GET /api/v1/me before it is kept.
import { useState } from 'preact/hooks';
import { request } from '../api';
import type { Me } from '../app';
import { messageOf } from '../ui';

export function Login({ onSignedIn }: { onSignedIn: (me: Me, token: string) => void }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <main class="login" id="main">
      <form
        class="card login-card"
        onSubmit={async (e) => {
          e.preventDefault();
          const token = String(new FormData(e.currentTarget as HTMLFormElement).get('token') ?? '').trim();
          if (!token) return setError('Enter an API token.');
          setBusy(true);
          setError('');
          try {
            const me = await request<Me>('GET', '/me', { token });
            onSignedIn(me, token);
          } catch (err) {
            setError(messageOf(err) || 'The server refused this token.');
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1>zkpush console</h1>
        <p class="muted">Sign in with an API token. An admin token is in the server's data folder (<code>api-token</code>).</p>
        <label class="field">
          <span class="field-label">API token</span>
          <input name="token" type="password" autocomplete="off" spellcheck={false} required autofocus aria-describedby="login-error" />
        </label>
        <p id="login-error" class="note note-error" role="alert" hidden={!error}>
          {error}
        </p>
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
