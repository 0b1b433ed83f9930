// People: persons with their cards, credentials, access levels and validity; search; a person's
// page with the sync state on each panel; CSV import with progress and the errors row by row.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { currentToken, del, enc, get, patch, post, request } from '../api';
import type { AccessLevel, Command, Job, Person } from '../types';
import { ActionButton, AddToggle, Badge, Table, Empty, ErrorNote, Field, Loading, Section, dateTime, messageOf, toast, useCan, useResource } from '../ui';

const PAGE = 1000;
const MAX_LOADED = 100_000;

// Every person, a thousand per request (GET /persons?after=).
async function loadPersons(signal: AbortSignal): Promise<Person[]> {
  const all: Person[] = [];
  let after = '';
  for (;;) {
    const page = await get<Person[]>(`/persons?limit=${PAGE}${after ? `&after=${enc(after)}` : ''}`, signal);
    all.push(...page);
    if (page.length < PAGE || all.length >= MAX_LOADED) return all;
    after = page[page.length - 1].pin;
  }
}

export function useLevels() {
  return useResource((signal) => get<AccessLevel[]>('/access-levels', signal), []);
}

export function PeoplePage({ pin }: { pin?: string }) {
  if (pin !== undefined && pin !== '') return <PersonPage pin={pin} />;
  return <PeopleList />;
}

function counts(p: Person) {
  const c = p.credentials ?? [];
  return {
    fingers: c.filter((x) => x.type === 'fingerprint').length,
    faces: c.filter((x) => x.type === 'face').length,
    photo: c.some((x) => x.type === 'photo'),
  };
}

function validity(p: Person): string {
  if (!p.valid_from && !p.valid_until) return 'Always';
  return `${p.valid_from ?? '…'} – ${p.valid_until ?? '…'}`;
}

function PeopleList() {
  const persons = useResource(loadPersons, []);
  const levels = useLevels();
  const canEdit = useCan('operator');
  const [search, setSearch] = useState('');
  const [adding, setAdding] = useState(false);
  const levelName = useMemo(() => new Map((levels.data ?? []).map((l) => [l.id, l.name])), [levels.data]);
  const q = search.trim().toLowerCase();
  const found = useMemo(
    () =>
      (persons.data ?? []).filter(
        (p) => !q || p.pin.toLowerCase().includes(q) || p.name.toLowerCase().includes(q) || p.cards.some((c) => c.includes(q)),
      ),
    [persons.data, q],
  );
  const shown = found.slice(0, 200);

  return (
    <>
      <h1 class="page-title">People</h1>
      {canEdit ? <ImportSection onDone={persons.reload} /> : null}
      <Section
        title="Persons"
        actions={
          canEdit ? (
            <AddToggle open={adding} label="Add a person" onToggle={() => setAdding((a) => !a)} />
          ) : null
        }
      >
        {adding ? (
          <PersonForm
            levels={levels.data ?? []}
            onSaved={(p) => {
              setAdding(false);
              persons.reload();
              location.hash = `#/people/${enc(p.pin)}`;
            }}
          />
        ) : null}
        <div class="filters">
          <label class="field grow">
            <span class="field-label">Search by name, pin or card</span>
            <input type="search" value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
          </label>
        </div>
        <ErrorNote error={persons.error} />
        {!persons.data && persons.loading ? (
          <Loading what="persons" />
        ) : !found.length ? (
          <Empty>{persons.data?.length ? 'Nobody matches.' : 'No person yet: add one, or import a CSV file.'}</Empty>
        ) : (
          <>
            <p class="muted small" aria-live="polite">
              {found.length === persons.data!.length ? `${found.length} persons` : `${found.length} of ${persons.data!.length} persons`}
              {found.length > shown.length ? `, the first ${shown.length} shown: narrow the search` : ''}
            </p>
            <Table label="Persons" columns={['Pin', 'Name', 'Cards', 'Fingerprints', 'Faces', 'Photo', 'Access levels', 'Valid']}>
              {shown.map((p) => {
                const c = counts(p);
                return (
                  <tr key={p.pin} data-pin={p.pin}>
                    <th scope="row" class="mono">
                      <a href={`#/people/${enc(p.pin)}`}>{p.pin}</a>
                    </th>
                    <td>
                      {p.name || <span class="muted">—</span>} {p.disabled ? <Badge tone="off">Disabled</Badge> : null}
                    </td>
                    <td class="mono small">{p.cards.length ? p.cards.join(', ') : '—'}</td>
                    <td class="num">{c.fingers}</td>
                    <td class="num">{c.faces}</td>
                    <td>{c.photo ? 'Yes' : '—'}</td>
                    <td class="small">{p.access_levels.map((id) => levelName.get(id) ?? `#${id}`).join(', ') || '—'}</td>
                    <td class="small">{validity(p)}</td>
                  </tr>
                );
              })}
            </Table>
          </>
        )}
      </Section>
    </>
  );
}

// ---- one person -----------------------------------------------------------------------------

interface PersonSync {
  sn: string;
  state: 'pending' | 'sending' | 'applied' | 'failed';
  should_hold: boolean;
  holds: boolean;
  error: string | null;
  return: number | null;
  attempts: number;
  updated_at: number | null;
  retry_at: number | null;
}

// The sync engine's state in words: a panel that should no longer hold the person is dropping it.
function syncWords(s: PersonSync): { text: string; tone: string } {
  if (s.state === 'failed') return { text: s.should_hold ? 'failed' : 'failed to remove', tone: 'bad' };
  if (!s.should_hold) return { text: s.state === 'sending' ? 'removing' : 'to remove', tone: 'warn' };
  if (s.state === 'applied') return { text: 'applied', tone: 'ok' };
  return { text: s.state === 'sending' ? 'sending' : 'to send', tone: 'warn' };
}

function PersonPage({ pin }: { pin: string }) {
  const person = useResource((signal) => get<Person>(`/persons/${enc(pin)}`, signal), [pin]);
  const sync = useResource((signal) => get<PersonSync[]>(`/persons/${enc(pin)}/sync`, signal), [pin]);
  const levels = useLevels();
  const canEdit = useCan('operator');
  const [editing, setEditing] = useState(false);
  const p = person.data;
  const levelName = new Map((levels.data ?? []).map((l) => [l.id, l.name]));
  return (
    <>
      <p>
        <a href="#/people">← People</a>
      </p>
      <h1 class="page-title">
        {p ? (p.name ? `${p.name} (${p.pin})` : `Person ${p.pin}`) : `Person ${pin}`}
      </h1>
      <ErrorNote error={person.error} />
      {!p ? (
        person.loading ? <Loading what="the person" /> : null
      ) : (
        <>
          <Section
            title="Person"
            actions={
              canEdit ? (
                <>
                  <button type="button" class="btn btn-plain btn-small" onClick={() => setEditing((e) => !e)} aria-expanded={editing}>
                    {editing ? 'Cancel' : 'Edit'}
                  </button>
                  <ActionButton
                    small
                    tone="danger"
                    onClick={async () => {
                      if (!confirm(`Delete ${p.pin}? The panels that hold this person are told.`)) return;
                      await del(`/persons/${enc(p.pin)}`);
                      toast(`Person ${p.pin} deleted`, 'ok');
                      location.hash = '#/people';
                    }}
                  >
                    Delete
                  </ActionButton>
                </>
              ) : null
            }
          >
            {editing ? (
              <PersonForm
                person={p}
                levels={levels.data ?? []}
                onSaved={() => {
                  setEditing(false);
                  person.reload();
                  sync.reload();
                }}
              />
            ) : (
              <div class="person">
                <Photo person={p} />
                <dl class="facts">
                  <dt>Pin</dt>
                  <dd class="mono">{p.pin}</dd>
                  <dt>Name</dt>
                  <dd>{p.name || '—'}</dd>
                  <dt>Cards</dt>
                  <dd class="mono">
                    {p.cards.length
                      ? p.cards.map((c) => (
                          <span key={c} class="chip">
                            {c}
                            {p.lost_cards.includes(c) ? ' (lost)' : ''}
                          </span>
                        ))
                      : '—'}
                  </dd>
                  <dt>Access levels</dt>
                  <dd>{p.access_levels.map((id) => levelName.get(id) ?? `#${id}`).join(', ') || 'None (held by no panel)'}</dd>
                  <dt>Valid</dt>
                  <dd>{validity(p)}</dd>
                  <dt>State</dt>
                  <dd>{p.disabled ? <Badge tone="off">Disabled</Badge> : <Badge tone="ok">Enabled</Badge>}</dd>
                  <dt>Group</dt>
                  <dd>{p.group ?? '—'}</dd>
                  <dt>Password</dt>
                  <dd>{p.has_password ? 'Set' : 'None'}</dd>
                  <dt>Enrolled at</dt>
                  <dd>{p.enrolled_at ?? 'Through the API'}</dd>
                </dl>
              </div>
            )}
          </Section>
          <Section title="Credentials">
            {(p.credentials ?? []).length ? (
              <Table label="Credentials" columns={['Type', 'Finger / instance', 'Format', 'From']} actions={canEdit}>
                {p.credentials!.map((c) => (
                  <tr key={c.id}>
                    <td>{c.type}</td>
                    <td class="num">{c.finger ?? c.no ?? '—'}</td>
                    <td class="small">{c.format ?? '—'}</td>
                    <td class="small">{c.enrolled_at ?? 'API'}</td>
                    {canEdit ? (
                      <td>
                        <ActionButton
                          small
                          tone="danger"
                          onClick={async () => {
                            await del(`/persons/${enc(p.pin)}/credentials/${c.id}`);
                            person.reload();
                            sync.reload();
                          }}
                        >
                          Remove
                        </ActionButton>
                      </td>
                    ) : null}
                  </tr>
                ))}
              </Table>
            ) : (
              <Empty>No fingerprint, face or photo.</Empty>
            )}
          </Section>
          {canEdit ? <EnrolSection pin={p.pin} onEnrolled={() => (person.reload(), sync.reload())} /> : null}
          <Section title="On the panels" actions={<ActionButton small onClick={async () => sync.reload()}>Refresh</ActionButton>}>
            <ErrorNote error={sync.error} />
            {!sync.data ? (
              sync.loading ? <Loading what="sync state" /> : null
            ) : !sync.data.length ? (
              <Empty>No panel holds or should hold this person (no access level with a door).</Empty>
            ) : (
              <Table label="Sync state per panel" columns={['Panel', 'State', 'Error', 'Attempts', 'Updated']}>
                {sync.data.map((s) => (
                  <tr key={s.sn}>
                    <th scope="row" class="mono">
                      {s.sn}
                    </th>
                    <td>
                      <Badge tone={syncWords(s).tone}>{syncWords(s).text}</Badge>
                    </td>
                    <td class="small">
                      {s.error ?? '—'}
                      {s.return !== null ? ` (Return ${s.return})` : ''}
                      {s.retry_at ? <div class="muted">retried at {dateTime(s.retry_at)}</div> : null}
                    </td>
                    <td class="num">{s.attempts}</td>
                    <td class="small">{dateTime(s.updated_at)}</td>
                  </tr>
                ))}
              </Table>
            )}
          </Section>
        </>
      )}
    </>
  );
}

// Remote enrolment (9.6): a panel is asked to read the person's card (ENROLL_INFO) or one of their
// fingers (face... ENROLL_BIO); the command's progress is followed until the panel answers, then the
// new card or credential shows above.
const bioTypes = ['fingerprint', 'face', 'palm', 'finger_vein', 'iris', 'card'];

function EnrolSection({ pin, onEnrolled }: { pin: string; onEnrolled: () => void }) {
  const devices = useResource((s) => get<{ sn: string; online: boolean }[]>('/devices', s), []);
  const [type, setType] = useState('fingerprint');
  const [state, setState] = useState('');
  const [busy, setBusy] = useState(false);
  const mounted = useRef(true);
  useEffect(() => () => void (mounted.current = false), []);
  return (
    <Section title="Enrol at a panel">
      <form
        class="filters"
        aria-label="Enrol at a panel"
        onSubmit={async (e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget as HTMLFormElement);
          const body: Record<string, unknown> = { sn: String(f.get('sn') ?? ''), type };
          if (type !== 'card') body[type === 'fingerprint' ? 'finger' : 'no'] = Number(f.get('no') ?? 0);
          setBusy(true);
          try {
            const queued = await post<{ command: Command }>(`/persons/${enc(pin)}/enroll`, body);
            setState(`Sent to ${body.sn}: waiting for the person at the panel…`);
            for (let i = 0; i < 150 && mounted.current; i++) {
              const c = await get<Command>(`/commands/${queued.command.id}`);
              if (c.status === 'done') {
                setState(`Enrolled at ${body.sn}.`);
                toast(`Enrolled at ${body.sn}`, 'ok');
                onEnrolled();
                return;
              }
              if (c.status === 'failed' || c.status === 'expired' || c.status === 'cancelled') {
                setState(`Not enrolled: ${c.status}${c.return_name ? ` (${c.return_name})` : ''}.`);
                return;
              }
              await new Promise((r) => setTimeout(r, 2000));
            }
          } catch (err) {
            setState(messageOf(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <Field label="Panel">
          <select name="sn" required>
            {(devices.data ?? []).map((d) => (
              <option key={d.sn} value={d.sn}>
                {d.sn}
                {d.online ? '' : ' (offline)'}
              </option>
            ))}
          </select>
        </Field>
        <Field label="What">
          <select value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value)}>
            {bioTypes.map((t) => (
              <option key={t} value={t}>
                {t.replace('_', ' ')}
              </option>
            ))}
          </select>
        </Field>
        {type === 'card' ? null : (
          <Field label={type === 'fingerprint' ? 'Finger (0-9)' : 'Instance (0-9)'}>
            <input name="no" type="number" min={0} max={9} defaultValue="0" required />
          </Field>
        )}
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? 'Enrolling…' : 'Enrol'}
        </button>
      </form>
      {state ? (
        <p class="small" role="status" data-testid="enrol-state">
          {state}
        </p>
      ) : null}
    </Section>
  );
}

// The user photo, read with the token and shown through a blob: URL.
function Photo({ person }: { person: Person }) {
  const [url, setUrl] = useState('');
  const has = (person.credentials ?? []).some((c) => c.type === 'photo');
  useEffect(() => {
    if (!has) return;
    let revoke = '';
    const controller = new AbortController();
    fetch(`/api/v1/persons/${enc(person.pin)}/photo`, { headers: { Authorization: `Bearer ${currentToken()}` }, signal: controller.signal })
      .then((r) => (r.ok ? r.blob() : null))
      .then((b) => {
        if (b) setUrl((revoke = URL.createObjectURL(b)));
      })
      .catch(() => undefined);
    return () => {
      controller.abort();
      if (revoke) URL.revokeObjectURL(revoke);
    };
  }, [person.pin, has]);
  if (!has) return <div class="photo photo-none" aria-hidden="true">{(person.name || person.pin).slice(0, 1).toUpperCase()}</div>;
  return url ? <img class="photo" src={url} alt={`Photo of ${person.name || person.pin}`} /> : <div class="photo" aria-hidden="true" />;
}

// ---- the form -------------------------------------------------------------------------------

function PersonForm({ person, levels, onSaved }: { person?: Person; levels: AccessLevel[]; onSaved: (p: Person) => void }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="form"
      onSubmit={async (e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget as HTMLFormElement);
        const list = (k: string) =>
          String(f.get(k) ?? '')
            .split(/[\s,;]+/)
            .filter(Boolean);
        const body: Record<string, unknown> = {
          name: String(f.get('name') ?? ''),
          cards: list('cards'),
          access_levels: f.getAll('levels').map(Number),
          valid_from: String(f.get('valid_from') ?? '') || null,
          valid_until: String(f.get('valid_until') ?? '') || null,
          disabled: f.get('disabled') === 'on',
        };
        const lost = list('lost_cards');
        if (person) body.lost_cards = lost.filter((c) => (body.cards as string[]).includes(c));
        setBusy(true);
        setError('');
        try {
          const saved = person
            ? await patch<Person>(`/persons/${enc(person.pin)}`, body)
            : await post<Person>('/persons', { pin: String(f.get('pin') ?? '').trim(), ...body });
          toast(`Person ${saved.pin} saved`, 'ok');
          onSaved(saved);
        } catch (err) {
          setError(messageOf(err));
        } finally {
          setBusy(false);
        }
      }}
    >
      <div class="form-grid">
        {person ? null : (
          <Field label="Pin" hint="1-24 letters or digits">
            <input name="pin" required maxLength={24} pattern="[A-Za-z0-9]+" />
          </Field>
        )}
        <Field label="Name">
          <input name="name" defaultValue={person?.name ?? ''} maxLength={64} />
        </Field>
        <Field label="Cards" hint="Card numbers, separated by commas">
          <input name="cards" defaultValue={person?.cards.join(', ') ?? ''} inputMode="numeric" />
        </Field>
        {person ? (
          <Field label="Lost cards" hint="Those of the cards above that are lost">
            <input name="lost_cards" defaultValue={person.lost_cards.join(', ')} inputMode="numeric" />
          </Field>
        ) : null}
        <Field label="Valid from">
          <input name="valid_from" type="date" defaultValue={person?.valid_from ?? ''} />
        </Field>
        <Field label="Valid until">
          <input name="valid_until" type="date" defaultValue={person?.valid_until ?? ''} />
        </Field>
      </div>
      <fieldset class="checks">
        <legend>Access levels</legend>
        {levels.length ? (
          levels.map((l) => (
            <label key={l.id} class="check">
              <input type="checkbox" name="levels" value={l.id} defaultChecked={person?.access_levels.includes(l.id)} /> {l.name}
            </label>
          ))
        ) : (
          <span class="muted small">No access level yet (Configuration → Access levels).</span>
        )}
      </fieldset>
      <label class="check">
        <input type="checkbox" name="disabled" defaultChecked={person?.disabled} /> Disabled (kept on the panels, opens no door)
      </label>
      <ErrorNote error={error} />
      <button type="submit" class="btn btn-primary" disabled={busy}>
        {busy ? 'Saving…' : person ? 'Save' : 'Add'}
      </button>
    </form>
  );
}

// ---- import ---------------------------------------------------------------------------------

function ImportSection({ onDone }: { onDone: () => void }) {
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  // The job runs on the server whatever the page does; leaving the page stops following it.
  const mounted = useRef(true);
  useEffect(() => () => void (mounted.current = false), []);

  const follow = async (id: number) => {
    for (;;) {
      const j = await get<Job>(`/jobs/${id}`);
      if (!mounted.current) return j;
      setJob(j);
      if (j.state !== 'running') return j;
      await new Promise((r) => setTimeout(r, 400));
    }
  };

  return (
    <Section title="Import persons from CSV">
      <p class="muted small">
        A header row naming the columns: <code>pin,name,cards,lost_cards,access_levels,privilege,group,password,valid_from,valid_until,disabled</code> (only{' '}
        <code>pin</code> is required; lists separated by <code>;</code>). A known pin is updated, a new one created; a bad row is reported and the others go on.
      </p>
      <form
        class="filters"
        onSubmit={async (e) => {
          e.preventDefault();
          const input = (e.currentTarget as HTMLFormElement).elements.namedItem('csv') as HTMLInputElement;
          const file = input.files?.[0];
          if (!file) return setError('Choose a CSV file first.');
          setBusy(true);
          setError('');
          setJob(null);
          try {
            const started = await request<Job>('POST', '/persons/import', { raw: { text: await file.text(), type: 'text/csv' } });
            setJob(started);
            const done = await follow(started.id);
            toast(`Import ${done.state}: ${done.created} created, ${done.updated} updated, ${done.failed} failed`, done.failed ? 'error' : 'ok');
            onDone();
          } catch (err) {
            setError(messageOf(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label class="field grow">
          <span class="field-label">CSV file</span>
          <input name="csv" type="file" accept=".csv,text/csv" />
        </label>
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? 'Importing…' : 'Import'}
        </button>
      </form>
      <ErrorNote error={error} />
      {job ? <JobProgress job={job} /> : null}
    </Section>
  );
}

function JobProgress({ job }: { job: Job }) {
  const pct = job.total ? Math.round((job.processed / job.total) * 100) : job.state === 'running' ? 0 : 100;
  return (
    <div class="job" data-state={job.state}>
      <label class="field">
        <span class="field-label">
          {job.state === 'running' ? 'Importing' : job.state === 'done' ? 'Imported' : 'Import failed'}: {job.processed} of {job.total} rows
        </span>
        <progress max={100} value={pct} aria-valuetext={`${pct} %`}>
          {pct} %
        </progress>
      </label>
      <p class="small" data-testid="import-summary">
        {job.created} created, {job.updated} updated, {job.failed} failed
      </p>
      {job.errors.length ? (
        <Table label="Rows not imported" columns={['Row', 'Pin', 'Error']}>
          {job.errors.map((e) => (
            <tr key={e.row}>
              <td class="num">{e.row}</td>
              <td class="mono">{e.pin || '—'}</td>
              <td>{e.error}</td>
            </tr>
          ))}
        </Table>
      ) : null}
    </div>
  );
}
