// Small building blocks shared by the pages: loading a resource, buttons that show their work,
// messages, badges, form fields, tabs, times.
import type { ButtonHTMLAttributes, ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type Role } from './api';

// ---- who is signed in ------------------------------------------------------------------------

export interface Session {
  role: Role;
  name: string;
}
export const SessionContext = createContext<Session>({ role: 'viewer', name: '' });
export const useSession = () => useContext(SessionContext);
const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
// Whether the signed-in token's role reaches `role` (the server enforces it anyway).
export function useCan(role: Role): boolean {
  return rank[useSession().role] >= rank[role];
}

// ---- loading -------------------------------------------------------------------------------

export interface Resource<T> {
  data: T | undefined;
  error: string;
  loading: boolean;
  reload: () => void;
  set: (update: (old: T | undefined) => T | undefined) => void;
}

// Runs `load` when `deps` change (and on reload()); a newer load wins over an older one.
export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    load(controller.signal)
      .then((d) => {
        if (controller.signal.aborted) return;
        setData(d);
        setError('');
      })
      .catch((e) => {
        if (controller.signal.aborted) return;
        setError(messageOf(e));
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const set = useCallback((u: (old: T | undefined) => T | undefined) => setData((old) => u(old)), []);
  return { data, error, loading, reload, set };
}

export function messageOf(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 403) return `Not allowed for this token's role: ${e.message}`;
    return e.message;
  }
  if (e instanceof Error) return e.message;
  return String(e);
}

// Repeats `fn` every `ms` while mounted (and the tab is visible).
export function useInterval(fn: () => void, ms: number): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    const id = setInterval(() => {
      if (document.visibilityState === 'visible') ref.current();
    }, ms);
    return () => clearInterval(id);
  }, [ms]);
}

// ---- messages ------------------------------------------------------------------------------

interface Toast {
  id: number;
  text: string;
  tone: 'ok' | 'error' | 'info';
}
const toastListeners = new Set<(t: Toast[]) => void>();
let toasts: Toast[] = [];
let nextToast = 1;
export function toast(text: string, tone: Toast['tone'] = 'info'): void {
  const t = { id: nextToast++, text, tone };
  toasts = [...toasts.slice(-4), t];
  for (const l of toastListeners) l(toasts);
  setTimeout(() => {
    toasts = toasts.filter((x) => x.id !== t.id);
    for (const l of toastListeners) l(toasts);
  }, tone === 'error' ? 10000 : 6000);
}

// The polite live region where results of actions are announced (and shown).
export function Toasts() {
  const [list, setList] = useState<Toast[]>(toasts);
  useEffect(() => {
    toastListeners.add(setList);
    return () => void toastListeners.delete(setList);
  }, []);
  return (
    <div class="toasts" role="status" aria-live="polite">
      {list.map((t) => (
        <div key={t.id} class={`toast toast-${t.tone}`}>
          {t.text}
        </div>
      ))}
    </div>
  );
}

export function ErrorNote({ error }: { error: string }) {
  if (!error) return null;
  return (
    <p class="note note-error" role="alert">
      {error}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return <p class="muted">Loading {what}…</p>;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="muted empty">{children}</p>;
}

// ---- controls ------------------------------------------------------------------------------

type ButtonProps = Omit<ButtonHTMLAttributes<HTMLButtonElement>, 'onClick'> & {
  onClick: () => Promise<unknown> | void;
  tone?: 'primary' | 'danger' | 'plain';
  small?: boolean;
};

// A button that is disabled while its action runs; a failed action is shown as a message.
export function ActionButton({ onClick, tone = 'plain', small, children, ...rest }: ButtonProps) {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      {...rest}
      class={`btn btn-${tone}${small ? ' btn-small' : ''}`}
      disabled={busy || (rest.disabled as boolean)}
      aria-busy={busy}
      onClick={async () => {
        setBusy(true);
        try {
          await onClick();
        } catch (e) {
          toast(messageOf(e), 'error');
        } finally {
          setBusy(false);
        }
      }}
    >
      {children}
    </button>
  );
}

// The button that opens a form to add something, and cancels it.
export function AddToggle({ open, label, onToggle }: { open: boolean; label: string; onToggle: () => void }) {
  return (
    <button type="button" class="btn btn-primary btn-small" onClick={onToggle} aria-expanded={open}>
      {open ? 'Cancel' : label}
    </button>
  );
}

// A choice among serial numbers; `first` are options before them ("All devices"...).
export function DeviceSelect({
  label,
  value,
  sns,
  onChange,
  first = [],
  inline = true,
}: {
  label: string;
  value: string;
  sns: string[];
  onChange: (sn: string) => void;
  first?: { value: string; label: string }[];
  inline?: boolean;
}) {
  return (
    <label class={inline ? 'inline-field' : 'field'}>
      <span class={inline ? undefined : 'field-label'}>{label}</span>
      <select value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
        {[...first, ...sns.map((sn) => ({ value: sn, label: sn }))].map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );
}

export function Badge({ tone, children, title }: { tone: string; children: ComponentChildren; title?: string }) {
  return (
    <span class={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}

export function Field({ label, children, hint }: { label: string; children: ComponentChildren; hint?: string }) {
  return (
    <label class="field">
      <span class="field-label">{label}</span>
      {children}
      {hint ? <span class="field-hint">{hint}</span> : null}
    </label>
  );
}

export function Tabs<T extends string>({
  tabs,
  current,
  href,
  label,
}: {
  tabs: { id: T; label: string }[];
  current: T;
  href: (id: T) => string;
  label: string;
}) {
  return (
    <nav class="tabs" aria-label={label}>
      {tabs.map((t) => (
        <a key={t.id} href={href(t.id)} class={t.id === current ? 'tab tab-current' : 'tab'} aria-current={t.id === current ? 'page' : undefined}>
          {t.label}
        </a>
      ))}
    </nav>
  );
}

// A table of rows: scrolls sideways on a narrow screen, one header per column (`actions`: a last,
// unnamed column for buttons, named for screen readers).
export function Table({
  label,
  columns,
  actions,
  class: extra,
  children,
}: {
  label: string;
  columns: string[];
  actions?: boolean;
  class?: string;
  children: ComponentChildren;
}) {
  return (
    <div class="table-wrap">
      <table class={extra ? `table ${extra}` : 'table'} aria-label={label}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
            {actions ? (
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card" aria-label={title}>
      <header class="card-head">
        <h2>{title}</h2>
        {actions ? <div class="card-actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

// ---- time ----------------------------------------------------------------------------------

export function ago(unix: number | null | undefined, now = Date.now() / 1000): string {
  if (!unix) return 'never';
  const s = Math.max(0, Math.round(now - unix));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function dateTime(unix: number | string | null | undefined): string {
  if (unix === null || unix === undefined || unix === '') return '—';
  const d = typeof unix === 'number' ? new Date(unix * 1000) : new Date(unix);
  if (Number.isNaN(d.getTime())) return String(unix);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// Re-renders every `ms` (for "12 s ago").
export function useNow(ms = 5000): number {
  const [now, setNow] = useState(Date.now() / 1000);
  useInterval(() => setNow(Date.now() / 1000), ms);
  return now;
}
