// Events: the access events, newest first, arriving live from the stream; filters by device, class,
// person and door apply to the page loaded and to what arrives. Pausing keeps the list still while
// new events are counted.
import { useEffect, useRef, useState } from 'preact/hooks';
import { currentToken, get, query } from '../api';
import { useLive } from '../live';
import type { AccessEvent, Device } from '../types';
import { ActionButton, Badge, DeviceSelect, Table, Empty, ErrorNote, Loading, Section, toast, useResource } from '../ui';

const classes = [
  { id: 'normal', label: 'Normal' },
  { id: 'error', label: 'Denied / error' },
  { id: 'alarm', label: 'Alarm' },
  { id: 'abnormal', label: 'Abnormal' },
  { id: 'warning', label: 'Warning' },
  { id: 'special', label: 'Special' },
];
const classLabel = (c: string) => classes.find((x) => x.id === c)?.label ?? c;
export const classTone = (c: string) =>
  c === 'normal' ? 'ok' : c === 'error' ? 'bad' : c === 'alarm' ? 'alarm' : c === 'abnormal' || c === 'warning' ? 'warn' : 'off';

const KEEP = 500;

interface Filters {
  sn: string;
  cls: string;
  pin: string;
  door: string;
}

function matches(e: AccessEvent, f: Filters): boolean {
  return (
    (!f.sn || e.sn === f.sn) &&
    (!f.cls || e.event_class === f.cls) &&
    (!f.pin || e.pin === f.pin) &&
    (!f.door || String(e.door) === f.door)
  );
}

export function EventsPage() {
  const [filters, setFilters] = useState<Filters>({ sn: '', cls: '', pin: '', door: '' });
  const [paused, setPaused] = useState(false);
  const [held, setHeld] = useState<AccessEvent[]>([]);
  const devices = useResource((signal) => get<Device[]>('/devices', signal), []);
  const params = { sn: filters.sn, class: filters.cls, pin: filters.pin, door: filters.door };
  // What the stream brought since the filters last changed: a page still loading would otherwise
  // replace the events that arrived while it was on its way.
  const arrived = useRef<AccessEvent[]>([]);
  const events = useResource(
    async (signal) => {
      const page = await get<AccessEvent[]>(`/events${query({ ...params, order: 'desc', limit: 100 })}`, signal);
      const newest = page.length ? page[0].id : 0;
      return [...arrived.current.filter((e) => e.id > newest), ...page];
    },
    [filters.sn, filters.cls, filters.pin, filters.door],
  );
  useEffect(() => {
    arrived.current = [];
    setHeld([]);
  }, [filters.sn, filters.cls, filters.pin, filters.door]);

  useLive('event', (m) => {
    const e = m.data as AccessEvent;
    if (!matches(e, filters)) return;
    arrived.current = [e, ...arrived.current].slice(0, KEEP);
    if (paused) setHeld((h) => [e, ...h].slice(0, KEEP));
    else events.set((old) => (old?.some((x) => x.id === e.id) ? old : [e, ...(old ?? [])].slice(0, Math.max(KEEP, old?.length ?? 0))));
  });

  const resume = () => {
    events.set((old) => {
      const ids = new Set((old ?? []).map((x) => x.id));
      return [...held.filter((x) => !ids.has(x.id)), ...(old ?? [])].slice(0, KEEP);
    });
    setHeld([]);
    setPaused(false);
  };

  const set = (k: keyof Filters) => (e: Event) => setFilters((f) => ({ ...f, [k]: (e.target as HTMLInputElement).value.trim() }));
  const list = events.data ?? [];

  return (
    <>
      <h1 class="page-title">Events</h1>
      <Section
        title="Live event feed"
        actions={
          <>
            {paused ? (
              <button type="button" class="btn btn-primary btn-small" onClick={resume}>
                Resume ({held.length} new)
              </button>
            ) : (
              <button type="button" class="btn btn-plain btn-small" onClick={() => setPaused(true)}>
                Pause
              </button>
            )}
            <ActionButton small onClick={() => exportCsv(params)}>
              Export CSV
            </ActionButton>
          </>
        }
      >
        <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter events">
          <DeviceSelect
            label="Device"
            inline={false}
            value={filters.sn}
            sns={(devices.data ?? []).map((d) => d.sn)}
            first={[{ value: '', label: 'All devices' }]}
            onChange={(sn) => setFilters((f) => ({ ...f, sn }))}
          />
          <label class="field">
            <span class="field-label">Class</span>
            <select value={filters.cls} onChange={set('cls')}>
              <option value="">All classes</option>
              {classes.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.label}
                </option>
              ))}
            </select>
          </label>
          <label class="field">
            <span class="field-label">Person (pin)</span>
            <input type="search" inputMode="text" value={filters.pin} onChange={set('pin')} placeholder="any" />
          </label>
          <label class="field">
            <span class="field-label">Door</span>
            <input type="number" min={0} value={filters.door} onChange={set('door')} placeholder="any" />
          </label>
        </form>
        <ErrorNote error={events.error} />
        {!events.data && events.loading ? (
          <Loading what="events" />
        ) : !list.length ? (
          <Empty>No event yet{filters.sn || filters.cls || filters.pin || filters.door ? ' matching these filters' : ''}. New ones appear here as they happen.</Empty>
        ) : (
          <>
            <EventTable events={list} />
            <p>
              <ActionButton
                onClick={async () => {
                  const oldest = Math.min(...list.map((e) => e.id));
                  const more = await get<AccessEvent[]>(`/events${query({ ...params, before_id: oldest, limit: 100 })}`);
                  if (!more.length) toast('No older event', 'info');
                  events.set((old) => [...(old ?? []), ...more.filter((e) => e.id < oldest)]);
                }}
              >
                Older events
              </ActionButton>
            </p>
          </>
        )}
      </Section>
    </>
  );
}

export function EventTable({ events, caption }: { events: AccessEvent[]; caption?: string }) {
  return (
    <Table label={caption ?? 'Events'} columns={['Time', 'Device', 'Door', 'Person', 'Card', 'Event', 'Verified by', 'Class']} class="events">
      {events.map((e) => (
        <tr key={e.id} class={`ev ev-${e.event_class}`} data-event-id={e.id}>
          <td class="nowrap">{e.time ?? '—'}</td>
          <td class="mono small">{e.sn}</td>
          <td class="num">{e.door ?? '—'}</td>
          <td>
            {e.person_name ? <span>{e.person_name} </span> : null}
            {e.pin && e.pin !== '0' ? (
              <a class="mono" href={`#/people/${encodeURIComponent(e.pin)}`} data-pin={e.pin}>
                {e.pin}
              </a>
            ) : (
              <span class="muted">—</span>
            )}
          </td>
          <td class="mono small">{e.cardno && e.cardno !== '0' ? e.cardno : '—'}</td>
          <td>
            <span class="mono small">{e.event}</span> {e.event_name}
          </td>
          <td class="small">{e.verify_name}</td>
          <td>
            <Badge tone={classTone(e.event_class)}>{classLabel(e.event_class)}</Badge>
          </td>
        </tr>
      ))}
    </Table>
  );
}

// GET /api/v1/events.csv with the token as a header, saved through a blob: link.
async function exportCsv(params: Record<string, string>) {
  const response = await fetch(`/api/v1/events.csv${query({ ...params, order: 'desc' })}`, {
    headers: { Authorization: `Bearer ${currentToken()}` },
  });
  if (!response.ok) throw new Error(`Export failed: HTTP ${response.status}`);
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = `events-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.csv`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  toast('Events exported', 'ok');
}
