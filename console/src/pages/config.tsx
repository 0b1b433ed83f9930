// Configuration: time rules (a week grid), holidays (a calendar), access levels (doors × time rule),
// door parameters, anti-passback zones, the device approval queue, per-device settings, API tokens
// and webhooks.
import { useMemo, useState } from 'preact/hooks';
import { del, enc, get, patch, post } from '../api';
import type { AccessLevel, ApbPresence, ApbZone, ApbZoneDoor, ApiTokenRow, Device, Holiday, Panel, Segments, TimeRule, Webhook } from '../types';
import { ActionButton, AddToggle, Badge, DeviceSelect, Table, Empty, ErrorNote, Field, Loading, Section, Tabs, dateTime, messageOf, toast, useCan, useResource } from '../ui';

type Tab = 'time-rules' | 'holidays' | 'access-levels' | 'doors' | 'zones' | 'approval' | 'devices' | 'tokens' | 'webhooks';
const tabs: { id: Tab; label: string }[] = [
  { id: 'time-rules', label: 'Time rules' },
  { id: 'holidays', label: 'Holidays' },
  { id: 'access-levels', label: 'Access levels' },
  { id: 'doors', label: 'Doors' },
  { id: 'zones', label: 'Anti-passback' },
  { id: 'approval', label: 'Approval queue' },
  { id: 'devices', label: 'Device settings' },
  { id: 'tokens', label: 'API tokens' },
  { id: 'webhooks', label: 'Webhooks' },
];

export function ConfigPage({ tab }: { tab?: string }) {
  const current = (tabs.find((t) => t.id === tab)?.id ?? 'time-rules') as Tab;
  return (
    <>
      <h1 class="page-title">Configuration</h1>
      <Tabs tabs={tabs} current={current} href={(id) => `#/config/${id}`} label="Configuration sections" />
      {current === 'time-rules' ? (
        <TimeRules />
      ) : current === 'holidays' ? (
        <Holidays />
      ) : current === 'access-levels' ? (
        <AccessLevels />
      ) : current === 'doors' ? (
        <DoorSettings />
      ) : current === 'zones' ? (
        <Zones />
      ) : current === 'approval' ? (
        <Approval />
      ) : current === 'devices' ? (
        <DeviceSettings />
      ) : current === 'tokens' ? (
        <Tokens />
      ) : (
        <Webhooks />
      )}
    </>
  );
}

// A form's submit handler that shows its error and its work.
function useSubmit(action: (f: FormData, form: HTMLFormElement) => Promise<unknown>) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const onSubmit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    setBusy(true);
    setError('');
    try {
      await action(new FormData(form), form);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, onSubmit };
}

// ---- time rules -----------------------------------------------------------------------------

const days: { key: string; label: string }[] = [
  { key: 'mon', label: 'Monday' },
  { key: 'tue', label: 'Tuesday' },
  { key: 'wed', label: 'Wednesday' },
  { key: 'thu', label: 'Thursday' },
  { key: 'fri', label: 'Friday' },
  { key: 'sat', label: 'Saturday' },
  { key: 'sun', label: 'Sunday' },
  { key: 'hol1', label: 'Holiday type 1' },
  { key: 'hol2', label: 'Holiday type 2' },
  { key: 'hol3', label: 'Holiday type 3' },
];

const minutes = (hhmm: string) => {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
};
const periodsText = (p: [string, string][] | undefined) => (p ?? []).map(([a, b]) => `${a}-${b}`).join(', ');

function parsePeriods(text: string, day: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of text.split(/[,;]+/).map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})$/.exec(part);
    if (!m) throw new Error(`${day}: "${part}" is not a period like 08:00-17:30`);
    const pad = (s: string) => s.padStart(2, '0');
    out.push([`${pad(m[1])}:${m[2]}`, `${pad(m[3])}:${m[4]}`]);
  }
  if (out.length > 3) throw new Error(`${day}: at most three periods`);
  return out;
}

// The week as rows of 24 hours, each period a bar.
function WeekGrid({ segments, name }: { segments: Segments; name: string }) {
  return (
    <table class="week" aria-label={`When ${name} allows access`}>
      <thead>
        <tr>
          <th scope="col">
            <span class="sr-only">Day</span>
          </th>
          <th scope="col" class="week-hours" aria-hidden="true">
            {[0, 6, 12, 18, 24].map((h) => (
              <span key={h} style={{ left: `${(h / 24) * 100}%` }}>
                {h}
              </span>
            ))}
          </th>
          <th scope="col" class="sr-only">
            Periods
          </th>
        </tr>
      </thead>
      <tbody>
        {days.map((d) => (
          <tr key={d.key}>
            <th scope="row" class="small">
              {d.label}
            </th>
            <td class="week-row" aria-hidden="true">
              {(segments[d.key] ?? []).map(([a, b], i) => {
                const start = minutes(a);
                const end = Math.max(start + 1, minutes(b) + 1);
                return <span key={i} class="week-bar" style={{ left: `${(start / 1440) * 100}%`, width: `${((end - start) / 1440) * 100}%` }} />;
              })}
            </td>
            <td class="small mono">{periodsText(segments[d.key]) || 'closed'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function TimeRuleForm({ rule, onSaved }: { rule?: TimeRule; onSaved: () => void }) {
  const { error, busy, onSubmit } = useSubmit(async (f) => {
    const segments: Segments = {};
    for (const d of days) segments[d.key] = parsePeriods(String(f.get(d.key) ?? ''), d.label);
    const body = { name: String(f.get('name') ?? ''), segments };
    if (rule) await patch(`/time-rules/${rule.id}`, body);
    else await post('/time-rules', body);
    toast(`Time rule ${body.name} saved`, 'ok');
    onSaved();
  });
  return (
    <form class="form" onSubmit={onSubmit}>
      <Field label="Name">
        <input name="name" required defaultValue={rule?.name ?? ''} maxLength={64} />
      </Field>
      <p class="muted small">Up to three periods a day, like <code>08:00-12:00, 13:00-17:30</code>; empty: closed that day.</p>
      <div class="form-grid">
        {days.map((d) => (
          <Field key={d.key} label={d.label}>
            <input name={d.key} defaultValue={periodsText(rule?.segments[d.key])} class="mono" />
          </Field>
        ))}
      </div>
      <ErrorNote error={error} />
      <button type="submit" class="btn btn-primary" disabled={busy}>
        {busy ? 'Saving…' : 'Save time rule'}
      </button>
    </form>
  );
}

function TimeRules() {
  const rules = useResource((s) => get<TimeRule[]>('/time-rules', s), []);
  const canEdit = useCan('operator');
  const [editing, setEditing] = useState<number | 'new' | null>(null);
  return (
    <Section
      title="Time rules"
      actions={
        canEdit ? (
          <AddToggle open={editing === 'new'} label="Add a time rule" onToggle={() => setEditing(editing === 'new' ? null : 'new')} />
        ) : null
      }
    >
      {editing === 'new' ? <TimeRuleForm onSaved={() => (setEditing(null), rules.reload())} /> : null}
      <ErrorNote error={rules.error} />
      {!rules.data ? (
        <Loading what="time rules" />
      ) : (
        rules.data.map((r) => (
          <article key={r.id} class="sub">
            <header class="card-head">
              <h3>
                {r.name} <span class="muted small">#{r.id}</span>
              </h3>
              {canEdit && r.id !== 1 ? (
                <div class="card-actions">
                  <button type="button" class="btn btn-plain btn-small" onClick={() => setEditing(editing === r.id ? null : r.id)}>
                    {editing === r.id ? 'Cancel' : 'Edit'}
                  </button>
                  <ActionButton
                    small
                    tone="danger"
                    onClick={async () => {
                      if (!confirm(`Delete the time rule ${r.name}?`)) return;
                      await del(`/time-rules/${r.id}`);
                      rules.reload();
                    }}
                  >
                    Delete
                  </ActionButton>
                </div>
              ) : null}
            </header>
            {editing === r.id ? <TimeRuleForm rule={r} onSaved={() => (setEditing(null), rules.reload())} /> : <WeekGrid segments={r.segments} name={r.name} />}
          </article>
        ))
      )}
    </Section>
  );
}

// ---- holidays -------------------------------------------------------------------------------

const iso = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

function holidayOn(list: Holiday[], day: string): Holiday | undefined {
  return list.find((h) => {
    if (h.yearly) {
      const md = day.slice(5);
      return h.start.slice(5) <= md && md <= h.end.slice(5);
    }
    return h.start <= day && day <= h.end;
  });
}

function Calendar({ holidays }: { holidays: Holiday[] }) {
  const [month, setMonth] = useState(() => {
    const d = new Date();
    return new Date(d.getFullYear(), d.getMonth(), 1);
  });
  const first = (month.getDay() + 6) % 7; // Monday first
  const daysIn = new Date(month.getFullYear(), month.getMonth() + 1, 0).getDate();
  const cells: (Date | null)[] = [...Array(first).fill(null), ...Array.from({ length: daysIn }, (_, i) => new Date(month.getFullYear(), month.getMonth(), i + 1))];
  while (cells.length % 7) cells.push(null);
  const title = month.toLocaleString(undefined, { month: 'long', year: 'numeric' });
  const move = (n: number) => setMonth(new Date(month.getFullYear(), month.getMonth() + n, 1));
  return (
    <div class="calendar">
      <div class="calendar-head">
        <button type="button" class="btn btn-plain btn-small" onClick={() => move(-1)} aria-label="Previous month">
          ‹
        </button>
        <h3 aria-live="polite">{title}</h3>
        <button type="button" class="btn btn-plain btn-small" onClick={() => move(1)} aria-label="Next month">
          ›
        </button>
      </div>
      <table class="calendar-grid" aria-label={`Holidays in ${title}`}>
        <thead>
          <tr>
            {['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].map((d) => (
              <th key={d} scope="col">
                {d}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {Array.from({ length: cells.length / 7 }, (_, w) => (
            <tr key={w}>
              {cells.slice(w * 7, w * 7 + 7).map((c, i) => {
                if (!c) return <td key={i} />;
                const h = holidayOn(holidays, iso(c));
                return (
                  <td key={i} class={h ? `holiday holiday-${h.type}` : ''}>
                    <span class="day">{c.getDate()}</span>
                    {h ? <span class="holiday-name">{h.name} (type {h.type})</span> : null}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Holidays() {
  const holidays = useResource((s) => get<Holiday[]>('/holidays', s), []);
  const canEdit = useCan('operator');
  const { error, busy, onSubmit } = useSubmit(async (f, form) => {
    const start = String(f.get('start') ?? '');
    const end = String(f.get('end') ?? '') || start;
    await post('/holidays', { name: String(f.get('name') ?? ''), start, end, type: Number(f.get('type') ?? 1), yearly: f.get('yearly') === 'on' });
    form.reset();
    toast('Holiday added; every panel is told', 'ok');
    holidays.reload();
  });
  const list = holidays.data ?? [];
  return (
    <>
      <Section title="Holidays">
        <ErrorNote error={holidays.error} />
        {!holidays.data ? <Loading what="holidays" /> : <Calendar holidays={list} />}
        {list.length ? (
          <Table label="Holidays" columns={['Name', 'From', 'To', 'Type', 'Every year']} actions={canEdit}>
            {list.map((h) => (
              <tr key={h.id}>
                <td>{h.name}</td>
                <td class="mono">{h.start}</td>
                <td class="mono">{h.end}</td>
                <td class="num">{h.type}</td>
                <td>{h.yearly ? 'Yes' : 'No'}</td>
                {canEdit ? (
                  <td>
                    <ActionButton small tone="danger" onClick={async () => (await del(`/holidays/${h.id}`), holidays.reload())}>
                      Delete
                    </ActionButton>
                  </td>
                ) : null}
              </tr>
            ))}
          </Table>
        ) : holidays.data ? (
          <Empty>No holiday.</Empty>
        ) : null}
      </Section>
      {canEdit ? (
        <Section title="Add a holiday">
          <form class="form" onSubmit={onSubmit}>
            <div class="form-grid">
              <Field label="Name">
                <input name="name" required maxLength={64} />
              </Field>
              <Field label="From">
                <input name="start" type="date" required />
              </Field>
              <Field label="To" hint="Empty: one day">
                <input name="end" type="date" />
              </Field>
              <Field label="Type" hint="Which holiday periods of the time rules apply">
                <select name="type">
                  <option value="1">1</option>
                  <option value="2">2</option>
                  <option value="3">3</option>
                </select>
              </Field>
            </div>
            <label class="check">
              <input type="checkbox" name="yearly" /> Every year
            </label>
            <ErrorNote error={error} />
            <button type="submit" class="btn btn-primary" disabled={busy}>
              Add holiday
            </button>
          </form>
        </Section>
      ) : null}
    </>
  );
}

// ---- global anti-passback zones ---------------------------------------------------------------
// Entry and exit doors on any panels; remote identification refuses a second entry (docs/access.md).

const directionLabel = { in: 'entry', out: 'exit', reader: 'by reader' } as const;

function Zones() {
  const zones = useResource((s) => get<ApbZone[]>('/apb-zones', s), []);
  const canEdit = useCan('operator');
  const [open, setOpen] = useState<number | null>(null);
  const list = zones.data ?? [];
  return (
    <>
      <Section title="Anti-passback zones">
        <p class="small">
          A person inside a zone cannot enter it again before leaving by an exit door (logical), or within some minutes of
          entering (timed). Zones apply to panels that ask the server for each verification (remote identification).
        </p>
        <ErrorNote error={zones.error} />
        {!zones.data ? (
          <Loading what="zones" />
        ) : list.length ? (
          <Table label="Anti-passback zones" columns={['Name', 'Mode', 'Doors', '']} actions={canEdit}>
            {list.map((z) => (
              <tr key={z.id}>
                <td>{z.name}</td>
                <td>{z.mode === 'timed' ? `timed, ${z.minutes} min` : 'logical'}</td>
                <td class="small">
                  {z.doors.map((d) => `${d.sn} door ${d.door} (${directionLabel[d.direction]})`).join(', ')}
                </td>
                <td>
                  <button type="button" class="btn btn-small" onClick={() => setOpen(open === z.id ? null : z.id)}>
                    {open === z.id ? 'Hide who is inside' : 'Who is inside'}
                  </button>
                </td>
                {canEdit ? (
                  <td>
                    <ActionButton small tone="danger" onClick={async () => (await del(`/apb-zones/${z.id}`), zones.reload())}>
                      Delete
                    </ActionButton>
                  </td>
                ) : null}
              </tr>
            ))}
          </Table>
        ) : (
          <Empty>No anti-passback zone.</Empty>
        )}
      </Section>
      {open !== null && list.some((z) => z.id === open) ? (
        <ZonePresence zone={list.find((z) => z.id === open)!} canEdit={canEdit} />
      ) : null}
      {canEdit ? <ZoneForm onSaved={zones.reload} /> : null}
    </>
  );
}

function ZonePresence({ zone, canEdit }: { zone: ApbZone; canEdit: boolean }) {
  const presence = useResource((s) => get<ApbPresence[]>(`/apb-zones/${zone.id}/presence`, s), [zone.id]);
  const reset = async (pin?: string) => {
    const r = await post<{ reset: number }>(`/apb-zones/${zone.id}/reset`, pin ? { pin } : {});
    toast(pin ? `Person ${pin} reset in ${zone.name}` : `${r.reset} reset in ${zone.name}`, 'ok');
    presence.reload();
  };
  const rows = presence.data ?? [];
  return (
    <Section
      title={`Who is where: ${zone.name}`}
      actions={canEdit && rows.length ? <ActionButton small onClick={() => reset()}>Reset everyone</ActionButton> : null}
    >
      <ErrorNote error={presence.error} />
      {!presence.data ? (
        <Loading what="presence" />
      ) : rows.length ? (
        <Table label={`Presence in ${zone.name}`} columns={['Person', 'Where', 'Entered', 'Left']} actions={canEdit}>
          {rows.map((p) => (
            <tr key={p.pin}>
              <td class="mono">
                <a href={`#/people/${enc(p.pin)}`}>{p.pin}</a>
              </td>
              <td>{p.inside ? <Badge tone="warn">inside</Badge> : 'outside'}</td>
              <td>{p.entered_at ? dateTime(p.entered_at) : ''}</td>
              <td>{p.exited_at ? dateTime(p.exited_at) : ''}</td>
              {canEdit ? (
                <td>
                  <ActionButton small onClick={() => reset(p.pin)}>
                    Reset
                  </ActionButton>
                </td>
              ) : null}
            </tr>
          ))}
        </Table>
      ) : (
        <Empty>Nobody has passed a door of this zone yet.</Empty>
      )}
    </Section>
  );
}

function ZoneForm({ onSaved }: { onSaved: () => void }) {
  const devices = useResource((s) => get<Device[]>('/devices', s), []);
  const sns = (devices.data ?? []).map((d) => d.sn);
  const [mode, setMode] = useState<'logical' | 'timed'>('logical');
  const [doors, setDoors] = useState<ApbZoneDoor[]>([]);
  const [sn, setSn] = useState('');
  const { error, busy, onSubmit } = useSubmit(async (f, form) => {
    const body: Record<string, unknown> = { name: String(f.get('name') ?? ''), mode, doors };
    if (mode === 'timed') body.minutes = Number(f.get('minutes') ?? 0);
    await post('/apb-zones', body);
    form.reset();
    setDoors([]);
    toast('Zone added', 'ok');
    onSaved();
  });
  const chosen = sn || sns[0] || '';
  return (
    <Section title="Add a zone">
      <form class="form" onSubmit={onSubmit}>
        <div class="form-grid">
          <Field label="Name">
            <input name="name" required maxLength={64} />
          </Field>
          <Field label="Mode" hint="Logical: inside until leaving by an exit; timed: minutes after an entry">
            <select value={mode} onChange={(e) => setMode((e.target as HTMLSelectElement).value as 'logical' | 'timed')}>
              <option value="logical">logical</option>
              <option value="timed">timed</option>
            </select>
          </Field>
          {mode === 'timed' ? (
            <Field label="Minutes (1-1440)">
              <input name="minutes" type="number" min={1} max={1440} defaultValue="10" required />
            </Field>
          ) : null}
        </div>
        <fieldset class="checks zone-doors">
          <legend>Doors</legend>
          {doors.length ? (
            <ul class="plain-list">
              {doors.map((d, i) => (
                <li key={`${d.sn}/${d.door}`}>
                  {d.sn} door {d.door}: {directionLabel[d.direction]}{' '}
                  <button type="button" class="btn btn-small" onClick={() => setDoors(doors.filter((_, j) => j !== i))}>
                    Remove
                  </button>
                </li>
              ))}
            </ul>
          ) : (
            <p class="small">No door yet: add at least one entry door.</p>
          )}
          <div class="filters">
            <DeviceSelect label="Panel" value={chosen} sns={sns} onChange={setSn} />
            <label class="inline-field">
              <span>Door</span>
              <input name="zone-door" type="number" min={1} max={64} defaultValue="1" />
            </label>
            <label class="inline-field">
              <span>Direction</span>
              <select name="zone-direction">
                <option value="in">entry</option>
                <option value="out">exit</option>
                <option value="reader">by reader (entry and exit readers)</option>
              </select>
            </label>
            <button
              type="button"
              class="btn"
              disabled={!chosen}
              onClick={(e) => {
                const form = (e.currentTarget as HTMLButtonElement).form!;
                const door = Number((form.elements.namedItem('zone-door') as HTMLInputElement).value);
                const direction = (form.elements.namedItem('zone-direction') as HTMLSelectElement).value as ApbZoneDoor['direction'];
                if (!chosen || !(door >= 1 && door <= 64)) return;
                setDoors([...doors.filter((d) => d.sn !== chosen || d.door !== door), { sn: chosen, door, direction }]);
              }}
            >
              Add door
            </button>
          </div>
        </fieldset>
        <ErrorNote error={error} />
        <button type="submit" class="btn btn-primary" disabled={busy || !doors.length}>
          Add zone
        </button>
      </form>
    </Section>
  );
}

// ---- access levels --------------------------------------------------------------------------

const doorKey = (sn: string, door: number) => `${sn}/${door}`;

function AccessLevels() {
  const levels = useResource((s) => get<AccessLevel[]>('/access-levels', s), []);
  const rules = useResource((s) => get<TimeRule[]>('/time-rules', s), []);
  const panels = useResource((s) => get<Panel[]>('/doors', s), []);
  const canEdit = useCan('operator');
  const [editing, setEditing] = useState<number | 'new' | null>(null);
  const ruleName = new Map((rules.data ?? []).map((r) => [r.id, r.name]));
  const doors = (panels.data ?? []).flatMap((p) => p.doors.map((d) => ({ sn: p.sn, door: d.door, name: d.name || `Door ${d.door}` })));
  const list = levels.data ?? [];
  return (
    <>
      <Section
        title="Access levels"
        actions={
          canEdit ? (
            <AddToggle open={editing === 'new'} label="Add an access level" onToggle={() => setEditing(editing === 'new' ? null : 'new')} />
          ) : null
        }
      >
        {editing !== null ? (
          <LevelForm
            level={list.find((l) => l.id === editing)}
            rules={rules.data ?? []}
            doors={doors}
            onSaved={() => (setEditing(null), levels.reload())}
          />
        ) : null}
        <ErrorNote error={levels.error || panels.error} />
        {!levels.data ? (
          <Loading what="access levels" />
        ) : !list.length ? (
          <Empty>No access level: a level gives its persons some doors during a time rule.</Empty>
        ) : (
          <div class="table-wrap">
            <table class="table matrix" aria-label="Doors by access level (the time rule in each cell)">
              <thead>
                <tr>
                  <th scope="col">Door</th>
                  {list.map((l) => (
                    <th key={l.id} scope="col">
                      {l.name}
                      {canEdit ? (
                        <>
                          <br />
                          <button type="button" class="linkish small" onClick={() => setEditing(l.id)} aria-label={`Edit ${l.name}`}>
                            Edit
                          </button>{' '}
                          <ActionButton
                            small
                            tone="danger"
                            aria-label={`Delete ${l.name}`}
                            onClick={async () => {
                              if (!confirm(`Delete the access level ${l.name}?`)) return;
                              await del(`/access-levels/${l.id}`);
                              levels.reload();
                            }}
                          >
                            Delete
                          </ActionButton>
                        </>
                      ) : null}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {doors.map((d) => (
                  <tr key={doorKey(d.sn, d.door)}>
                    <th scope="row" class="small">
                      <span class="mono">{d.sn}</span> · {d.name}
                    </th>
                    {list.map((l) => (
                      <td key={l.id} class="small">
                        {l.doors.some((x) => x.sn === d.sn && x.door === d.door) ? (
                          <Badge tone="ok">{ruleName.get(l.time_rule_id) ?? `rule ${l.time_rule_id}`}</Badge>
                        ) : (
                          <span class="muted" aria-label="no access">
                            ·
                          </span>
                        )}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </>
  );
}

function LevelForm({
  level,
  rules,
  doors,
  onSaved,
}: {
  level?: AccessLevel;
  rules: TimeRule[];
  doors: { sn: string; door: number; name: string }[];
  onSaved: () => void;
}) {
  const { error, busy, onSubmit } = useSubmit(async (f) => {
    const picked = f.getAll('doors').map((v) => {
      const [sn, door] = String(v).split('/');
      return { sn, door: Number(door) };
    });
    const body = { name: String(f.get('name') ?? ''), time_rule_id: Number(f.get('time_rule_id')), doors: picked };
    if (level) await patch(`/access-levels/${level.id}`, body);
    else await post('/access-levels', body);
    toast(`Access level ${body.name} saved; its panels are being synced`, 'ok');
    onSaved();
  });
  return (
    <form class="form sub" onSubmit={onSubmit} aria-label={level ? `Edit ${level.name}` : 'New access level'}>
      <div class="form-grid">
        <Field label="Name">
          <input name="name" required defaultValue={level?.name ?? ''} maxLength={64} />
        </Field>
        <Field label="Time rule">
          <select name="time_rule_id" defaultValue={String(level?.time_rule_id ?? 1)}>
            {rules.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <fieldset class="checks">
        <legend>Doors</legend>
        {doors.length ? (
          doors.map((d) => (
            <label key={doorKey(d.sn, d.door)} class="check">
              <input type="checkbox" name="doors" value={doorKey(d.sn, d.door)} defaultChecked={level?.doors.some((x) => x.sn === d.sn && x.door === d.door)} />{' '}
              <span class="mono small">{d.sn}</span> {d.name}
            </label>
          ))
        ) : (
          <span class="muted small">No door yet: a panel's doors appear once it has registered.</span>
        )}
      </fieldset>
      <ErrorNote error={error} />
      <button type="submit" class="btn btn-primary" disabled={busy}>
        Save access level
      </button>
    </form>
  );
}

// ---- door parameters ------------------------------------------------------------------------

function DoorSettings() {
  const panels = useResource((s) => get<Panel[]>('/doors', s), []);
  const rules = useResource((s) => get<TimeRule[]>('/time-rules', s), []);
  const canEdit = useCan('operator');
  const [open, setOpen] = useState('');
  return (
    <Section title="Door parameters">
      <ErrorNote error={panels.error} />
      {!panels.data ? (
        <Loading what="doors" />
      ) : !panels.data.length ? (
        <Empty>No panel yet.</Empty>
      ) : (
        panels.data.map((p) => (
          <div key={p.sn} class="panel-doors">
            <h3 class="mono">{p.sn}</h3>
            <div class="table-wrap">
              <table class="table" aria-label={`Doors of ${p.sn}`}>
                <thead>
                  <tr>
                    <th scope="col">Door</th>
                    <th scope="col">Name</th>
                    <th scope="col">Lock drive time</th>
                    <th scope="col">Sensor</th>
                    <th scope="col">Sensor delay</th>
                    <th scope="col">
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {p.doors.map((d) => {
                    const k = doorKey(p.sn, d.door);
                    const s = d.settings as Record<string, number | boolean | string | undefined>;
                    return [
                      <tr key={k}>
                        <td class="num">{d.door}</td>
                        <td>{d.name || '—'}</td>
                        <td>{s.drive_time !== undefined ? `${s.drive_time} s` : 'panel default'}</td>
                        <td>{s.sensor_type === undefined ? 'panel default' : ['none', 'normally open', 'normally closed'][Number(s.sensor_type)] ?? s.sensor_type}</td>
                        <td>{s.sensor_delay !== undefined ? `${s.sensor_delay} s` : 'panel default'}</td>
                        <td>
                          {canEdit ? (
                            <button type="button" class="btn btn-plain btn-small" onClick={() => setOpen(open === k ? '' : k)} aria-expanded={open === k}>
                              {open === k ? 'Close' : 'Edit'}
                            </button>
                          ) : null}
                        </td>
                      </tr>,
                      open === k ? (
                        <tr key={`${k}-form`}>
                          <td colSpan={6}>
                            <DoorForm sn={p.sn} door={d.door} name={d.name} settings={s} rules={rules.data ?? []} onSaved={() => (setOpen(''), panels.reload())} />
                          </td>
                        </tr>
                      ) : null,
                    ];
                  })}
                </tbody>
              </table>
            </div>
          </div>
        ))
      )}
    </Section>
  );
}

function DoorForm({
  sn,
  door,
  name,
  settings,
  rules,
  onSaved,
}: {
  sn: string;
  door: number;
  name: string;
  settings: Record<string, unknown>;
  rules: TimeRule[];
  onSaved: () => void;
}) {
  const { error, busy, onSubmit } = useSubmit(async (f) => {
    const body: Record<string, unknown> = { name: String(f.get('name') ?? '') };
    for (const k of ['drive_time', 'sensor_type', 'sensor_delay', 'active_time_rule_id', 'normal_open_time_rule_id']) {
      const v = String(f.get(k) ?? '');
      if (v !== '') body[k] = Number(v);
    }
    body.lock_on_close = f.get('lock_on_close') === 'on';
    await patch(`/devices/${enc(sn)}/doors/${door}`, body);
    toast(`${sn} door ${door} saved; sent to the panel`, 'ok');
    onSaved();
  });
  const v = (k: string) => (settings[k] === undefined || settings[k] === null ? '' : String(settings[k]));
  return (
    <form class="form" onSubmit={onSubmit} aria-label={`Door ${door} of ${sn}`}>
      <div class="form-grid">
        <Field label="Name">
          <input name="name" defaultValue={name} maxLength={64} />
        </Field>
        <Field label="Lock drive time (s)" hint="0-254">
          <input name="drive_time" type="number" min={0} max={254} defaultValue={v('drive_time')} />
        </Field>
        <Field label="Door sensor">
          <select name="sensor_type" defaultValue={v('sensor_type')}>
            <option value="">panel default</option>
            <option value="0">none</option>
            <option value="1">normally open</option>
            <option value="2">normally closed</option>
          </select>
        </Field>
        <Field label="Sensor delay (s)" hint="Held-open alarm after; 0 none">
          <input name="sensor_delay" type="number" min={0} max={254} defaultValue={v('sensor_delay')} />
        </Field>
        <Field label="Active during">
          <select name="active_time_rule_id" defaultValue={v('active_time_rule_id')}>
            <option value="">panel default</option>
            {rules.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Normal open during">
          <select name="normal_open_time_rule_id" defaultValue={v('normal_open_time_rule_id')}>
            <option value="">panel default</option>
            <option value="0">never</option>
            {rules.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <label class="check">
        <input type="checkbox" name="lock_on_close" defaultChecked={settings.lock_on_close === true} /> Lock when the door closes
      </label>
      <ErrorNote error={error} />
      <button type="submit" class="btn btn-primary" disabled={busy}>
        Save door
      </button>
    </form>
  );
}

// ---- approval queue -------------------------------------------------------------------------

function Approval() {
  const devices = useResource((s) => get<Device[]>('/devices', s), []);
  const canEdit = useCan('operator');
  const waiting = (devices.data ?? []).filter((d) => !d.approved);
  return (
    <Section title="Devices waiting for approval">
      <p class="muted small">
        Under <code>--registration approve</code> a new panel waits here until someone lets it in; to keep one out for good, use <code>--allow-sn</code>.
      </p>
      <ErrorNote error={devices.error} />
      {!devices.data ? (
        <Loading what="devices" />
      ) : !waiting.length ? (
        <Empty>No device is waiting.</Empty>
      ) : (
        <Table label="Devices waiting for approval" columns={['Serial number', 'Address', 'Firmware', 'First seen']} actions={canEdit}>
          {waiting.map((d) => (
            <tr key={d.sn}>
              <th scope="row" class="mono">
                {d.sn}
              </th>
              <td class="mono">{d.ip}</td>
              <td class="small">{d.firmware ?? '—'}</td>
              <td class="small">{dateTime((d as unknown as { first_seen: number | null }).first_seen)}</td>
              {canEdit ? (
                <td class="actions">
                  <ActionButton small tone="primary" onClick={async () => (await post(`/devices/${enc(d.sn)}/approve`), toast(`${d.sn} approved`, 'ok'), devices.reload())}>
                    Approve
                  </ActionButton>
                  <ActionButton small tone="danger" onClick={async () => (await post(`/devices/${enc(d.sn)}/reject`), toast(`${d.sn} rejected`, 'ok'), devices.reload())}>
                    Reject
                  </ActionButton>
                </td>
              ) : null}
            </tr>
          ))}
        </Table>
      )}
    </Section>
  );
}

// ---- per-device settings --------------------------------------------------------------------

const configKeys: { key: string; label: string; hint: string }[] = [
  { key: 'RequestDelay', label: 'Poll interval (s)', hint: 'RequestDelay: how often the panel asks for commands' },
  { key: 'ErrorDelay', label: 'Retry after an error (s)', hint: 'ErrorDelay' },
  { key: 'TransInterval', label: 'Upload interval (min)', hint: 'TransInterval' },
  { key: 'TimeoutSec', label: 'Request timeout (s)', hint: 'TimeoutSec' },
  { key: 'Realtime', label: 'Real-time upload', hint: 'Realtime: 1 on, 0 off' },
];

function DeviceSettings() {
  const devices = useResource((s) => get<Device[]>('/devices', s), []);
  const [sn, setSn] = useState('');
  const list = devices.data ?? [];
  const device = list.find((d) => d.sn === sn) ?? list[0];
  return (
    <Section title="Device settings">
      <ErrorNote error={devices.error} />
      {!devices.data ? (
        <Loading what="devices" />
      ) : !device ? (
        <Empty>No device yet.</Empty>
      ) : (
        <>
          <DeviceSelect label="Device" value={device.sn} sns={list.map((d) => d.sn)} onChange={setSn} />
          <DeviceForm key={device.sn} device={device} onSaved={devices.reload} />
        </>
      )}
    </Section>
  );
}

function DeviceForm({ device, onSaved }: { device: Device; onSaved: () => void }) {
  const canEdit = useCan('operator');
  const isAdmin = useCan('admin');
  const { error, busy, onSubmit } = useSubmit(async (f) => {
    const config: Record<string, number | null> = {};
    for (const c of configKeys) {
      const v = String(f.get(c.key) ?? '').trim();
      config[c.key] = v === '' ? null : Number(v);
    }
    const tz = String(f.get('time_zone') ?? '').trim();
    await patch(`/devices/${enc(device.sn)}`, { time_zone: tz || null, config });
    toast(`${device.sn}: settings saved, sent at its next initialisation`, 'ok');
    onSaved();
  });
  if (!canEdit)
    return (
      <dl class="facts" aria-label={`Settings of ${device.sn}`}>
        <dt>Time zone</dt>
        <dd>{device.time_zone ?? "the server's"}</dd>
        {configKeys.map((c) => [
          <dt key={`${c.key}-t`}>{c.label}</dt>,
          <dd key={`${c.key}-d`}>{device.config[c.key] === undefined ? 'server default' : String(device.config[c.key])}</dd>,
        ])}
      </dl>
    );
  return (
    <>
      <form class="form" onSubmit={onSubmit} aria-label={`Settings of ${device.sn}`}>
        <fieldset class="plain">
          <div class="form-grid">
            <Field label="Time zone" hint="Like +0800 or -0530; empty: the server's">
              <input name="time_zone" defaultValue={device.time_zone ?? ''} pattern="[+-]\d{4}" placeholder="+0000" />
            </Field>
            {configKeys.map((c) => (
              <Field key={c.key} label={c.label} hint={c.hint}>
                <input name={c.key} type="number" min={0} defaultValue={device.config[c.key] === undefined ? '' : String(device.config[c.key])} placeholder="server default" />
              </Field>
            ))}
          </div>
          <ErrorNote error={error} />
          <button type="submit" class="btn btn-primary" disabled={busy}>
            Save settings
          </button>
        </fieldset>
      </form>
      <div class="actions-row" role="group" aria-label={`Actions on ${device.sn}`}>
        <ActionButton
          onClick={async () => {
            const c = await post<{ status: string; return_name: string | null }>(`/devices/${enc(device.sn)}/time?wait=10s`, {}, { accept: [504] });
            if (c.status === 'done') toast(`${device.sn}: clock set`, 'ok');
            else if (c.status === 'failed') toast(`${device.sn} refused the time (${c.return_name ?? 'error'})`, 'error');
            else toast(`${device.sn}: the time is queued; the device has not answered yet (${c.status})`, 'info');
          }}
        >
          Set its clock
        </ActionButton>
        <ActionButton onClick={async () => (await post(`/devices/${enc(device.sn)}/verify`), toast(`${device.sn}: checked at its next poll`, 'ok'))}>
          Check what it holds
        </ActionButton>
        <ActionButton onClick={async () => (await post(`/devices/${enc(device.sn)}/resync`, { clear: false }), toast(`${device.sn}: reconciling`, 'ok'))}>
          Sync now
        </ActionButton>
        {isAdmin ? (
          <>
            <ActionButton
              tone="danger"
              onClick={async () => {
                if (!confirm(`Reboot ${device.sn}?`)) return;
                await post(`/devices/${enc(device.sn)}/reboot`);
                toast(`${device.sn}: reboot sent`, 'ok');
              }}
            >
              Reboot
            </ActionButton>
            <ActionButton
              tone="danger"
              onClick={async () => {
                if (!confirm(`Forget ${device.sn}? Its events stay.`)) return;
                await del(`/devices/${enc(device.sn)}`);
                toast(`${device.sn} forgotten`, 'ok');
                onSaved();
              }}
            >
              Forget device
            </ActionButton>
          </>
        ) : null}
      </div>
    </>
  );
}

// ---- API tokens -----------------------------------------------------------------------------

function AdminOnly() {
  return <Empty>Only an admin token can see and change this.</Empty>;
}

function Tokens() {
  const isAdmin = useCan('admin');
  const tokens = useResource((s) => (isAdmin ? get<ApiTokenRow[]>('/tokens', s) : Promise.resolve([])), [isAdmin]);
  const [made, setMade] = useState('');
  const { error, busy, onSubmit } = useSubmit(async (f, form) => {
    const t = await post<ApiTokenRow & { token: string }>('/tokens', { name: String(f.get('name') ?? ''), role: String(f.get('role') ?? 'viewer') });
    setMade(t.token);
    form.reset();
    tokens.reload();
  });
  if (!isAdmin) return <Section title="API tokens"><AdminOnly /></Section>;
  return (
    <>
      <Section title="API tokens">
        <p class="muted small">Admin: everything. Operator: doors, persons, events. Viewer: reads only, no door controls.</p>
        <ErrorNote error={tokens.error} />
        {!tokens.data ? (
          <Loading what="tokens" />
        ) : !tokens.data.length ? (
          <Empty>No token but the server's own admin token.</Empty>
        ) : (
          <Table label="API tokens" columns={['Name', 'Role', 'Created', 'State']} actions>
            {tokens.data.map((t) => {
              const revoked = (t as unknown as { revoked_at: number | null }).revoked_at;
              return (
                <tr key={t.id}>
                  <td>{t.name}</td>
                  <td>{t.role}</td>
                  <td class="small">{dateTime(t.created_at as number)}</td>
                  <td>{revoked ? <Badge tone="off">Revoked</Badge> : <Badge tone="ok">Active</Badge>}</td>
                  <td>
                    {!revoked ? (
                      <ActionButton
                        small
                        tone="danger"
                        onClick={async () => {
                          if (!confirm(`Revoke the token ${t.name}? Whoever uses it is signed out.`)) return;
                          await del(`/tokens/${t.id}`);
                          tokens.reload();
                        }}
                      >
                        Revoke
                      </ActionButton>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </Table>
        )}
      </Section>
      <Section title="Make a token">
        <form class="form" onSubmit={onSubmit}>
          <div class="form-grid">
            <Field label="Name" hint="Who or what uses it">
              <input name="name" required maxLength={64} />
            </Field>
            <Field label="Role">
              <select name="role" defaultValue="viewer">
                <option value="viewer">viewer</option>
                <option value="operator">operator</option>
                <option value="admin">admin</option>
              </select>
            </Field>
          </div>
          <ErrorNote error={error} />
          <button type="submit" class="btn btn-primary" disabled={busy}>
            Make token
          </button>
        </form>
        {made ? (
          <div class="note note-ok" role="status">
            <p>The new token, shown this once (the server keeps only its hash):</p>
            <p>
              <code class="secret" data-testid="new-token">
                {made}
              </code>{' '}
              <button type="button" class="btn btn-plain btn-small" onClick={() => navigator.clipboard?.writeText(made).then(() => toast('Copied', 'ok'))}>
                Copy
              </button>
            </p>
          </div>
        ) : null}
      </Section>
    </>
  );
}

// ---- webhooks -------------------------------------------------------------------------------

interface DeadLetter {
  id: number;
  message_id: number;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  failed_at: number | null;
}

const kinds = [
  { id: '*', label: 'Access events' },
  { id: 'door_state', label: 'Door state' },
  { id: 'command', label: 'Command results' },
  { id: 'device', label: 'Online / offline' },
  { id: 'sync', label: 'Sync progress' },
];

function Webhooks() {
  const isAdmin = useCan('admin');
  const hooks = useResource((s) => (isAdmin ? get<Webhook[]>('/webhooks', s) : Promise.resolve([])), [isAdmin]);
  const [letters, setLetters] = useState<number | null>(null);
  const { error, busy, onSubmit } = useSubmit(async (f, form) => {
    const events = f.getAll('events').map(String);
    await post('/webhooks', { url: String(f.get('url') ?? ''), secret: String(f.get('secret') ?? ''), events: events.length ? events : ['*'] });
    form.reset();
    toast('Webhook added', 'ok');
    hooks.reload();
  });
  if (!isAdmin) return <Section title="Webhooks"><AdminOnly /></Section>;
  return (
    <>
      <Section title="Webhooks">
        <ErrorNote error={hooks.error} />
        {!hooks.data ? (
          <Loading what="webhooks" />
        ) : !hooks.data.length ? (
          <Empty>No webhook: add one below to have events POSTed, signed, to another system.</Empty>
        ) : (
          <Table label="Webhooks" columns={['URL', 'Sends', 'Delivered', 'Dead letters', 'Last error']} actions>
            {hooks.data.map((h) => (
              <tr key={h.id}>
                <td class="mono small">{h.url}</td>
                <td class="small">{h.events.map((e) => kinds.find((k) => k.id === e)?.label ?? e).join(', ')}</td>
                <td class="num">{String(h.delivered ?? 0)}</td>
                <td class="num">
                  {Number(h.dead_letters ?? 0) > 0 ? (
                    <button type="button" class="linkish" onClick={() => setLetters(letters === h.id ? null : h.id)} aria-expanded={letters === h.id}>
                      {String(h.dead_letters)}
                    </button>
                  ) : (
                    '0'
                  )}
                </td>
                <td class="small">{(h.last_error as string) ?? '—'}</td>
                <td class="actions">
                  <button type="button" class="btn btn-plain btn-small" onClick={() => setLetters(letters === h.id ? null : h.id)}>
                    Dead letters
                  </button>
                  <ActionButton
                    small
                    tone="danger"
                    onClick={async () => {
                      if (!confirm(`Delete the webhook to ${h.url}?`)) return;
                      await del(`/webhooks/${h.id}`);
                      hooks.reload();
                    }}
                  >
                    Delete
                  </ActionButton>
                </td>
              </tr>
            ))}
          </Table>
        )}
        {letters !== null ? <DeadLetters id={letters} onChange={hooks.reload} /> : null}
      </Section>
      <Section title="Add a webhook">
        <form class="form" onSubmit={onSubmit}>
          <div class="form-grid">
            <Field label="URL" hint="http://host:port/path">
              <input name="url" type="url" required placeholder="http://" />
            </Field>
            <Field label="Secret" hint="Signs each delivery (X-Zkpush-Signature)">
              <input name="secret" type="password" required minLength={8} autocomplete="new-password" />
            </Field>
          </div>
          <fieldset class="checks">
            <legend>Sends</legend>
            {kinds.map((k) => (
              <label key={k.id} class="check">
                <input type="checkbox" name="events" value={k.id} defaultChecked={k.id === '*'} /> {k.label}
              </label>
            ))}
          </fieldset>
          <ErrorNote error={error} />
          <button type="submit" class="btn btn-primary" disabled={busy}>
            Add webhook
          </button>
        </form>
      </Section>
    </>
  );
}

function DeadLetters({ id, onChange }: { id: number; onChange: () => void }) {
  const list = useResource((s) => get<DeadLetter[]>(`/webhooks/${id}/dead-letters`, s), [id]);
  const ids = useMemo(() => (list.data ?? []).map((d) => d.id), [list.data]);
  return (
    <div class="sub" aria-label={`Dead letters of webhook ${id}`}>
      <header class="card-head">
        <h3>Dead letters of webhook #{id}</h3>
        {ids.length ? (
          <ActionButton
            small
            tone="primary"
            onClick={async () => {
              await post(`/webhooks/${id}/redeliver`, { ids });
              toast(`${ids.length} dead letters queued again`, 'ok');
              list.reload();
              onChange();
            }}
          >
            Redeliver all
          </ActionButton>
        ) : null}
      </header>
      <ErrorNote error={list.error} />
      {!list.data ? (
        <Loading what="dead letters" />
      ) : !list.data.length ? (
        <Empty>None: every message was delivered.</Empty>
      ) : (
        <Table label="Dead letters" columns={['Message', 'Attempts', 'Last status', 'Last error', 'Failed at']}>
          {list.data.map((d) => (
            <tr key={d.id}>
              <td class="num">{d.message_id}</td>
              <td class="num">{d.attempts}</td>
              <td class="num">{d.last_status ?? '—'}</td>
              <td class="small">{d.last_error ?? '—'}</td>
              <td class="small">{dateTime(d.failed_at)}</td>
            </tr>
          ))}
        </Table>
      )}
    </div>
  );
}
