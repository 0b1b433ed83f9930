// Live: the devices (online or not, last seen, firmware, pending commands, sync) and the door board,
// both kept current by the live stream (device presence, door_state, command and sync messages).
import { useEffect, useRef, useState } from 'preact/hooks';
import { enc, get, post } from '../api';
import { useLive } from '../live';
import type { Command, Device, DoorLive, DoorState, Panel } from '../types';
import { ActionButton, Badge, DeviceSelect, Empty, ErrorNote, Loading, Section, Table, ago, toast, useCan, useInterval, useNow, useResource } from '../ui';

export interface SyncRow {
  sn: string;
  pending: number;
  applied: number;
  failed: number;
  in_flight?: number;
}

export function LivePage() {
  return (
    <>
      <h1 class="page-title">Live</h1>
      <DevicesSection />
      <DoorBoard />
    </>
  );
}

// GET /api/v1/sync as a map by serial number (empty when the server cannot say).
export function useSyncRows() {
  return useResource(async (signal) => {
    const rows = await get<SyncRow[]>('/sync', signal);
    return new Map(rows.map((r) => [r.sn, r]));
  }, []);
}

function DevicesSection() {
  const canTrace = useCan('operator');
  const devices = useResource((signal) => get<Device[]>('/devices', signal), []);
  const sync = useSyncRows();
  const now = useNow();
  useInterval(() => devices.reload(), 15000);
  useLive('device', (m) => {
    const d = m.data as { sn: string; online: boolean };
    if (devices.data?.some((x) => x.sn === d.sn)) devices.set((old) => old?.map((x) => (x.sn === d.sn ? { ...x, online: d.online } : x)));
    else devices.reload();
  });
  // Pending counts change with each command closed: one reload for a burst of them.
  const reloadSoon = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useLive('command', () => {
    clearTimeout(reloadSoon.current);
    reloadSoon.current = setTimeout(devices.reload, 1000);
  });
  useEffect(() => () => clearTimeout(reloadSoon.current), []);
  useLive('sync', (m) => {
    const s = m.data as SyncRow;
    sync.set((old) => new Map(old ?? []).set(s.sn, s));
  });
  const list = devices.data ?? [];
  const online = list.filter((d) => d.online).length;
  return (
    <Section title="Devices" actions={<span class="muted">{list.length ? `${online} of ${list.length} online` : ''}</span>}>
      <ErrorNote error={devices.error} />
      {!devices.data && devices.loading ? (
        <Loading what="devices" />
      ) : !list.length ? (
        <Empty>No device has connected yet. Point a panel's server address at this server (port 8088 by default).</Empty>
      ) : (
        <Table
          label="Devices"
          columns={['Serial number', 'State', 'Last seen', 'Firmware', 'Address', 'Pending commands', 'Sync']}
          actions={canTrace}
        >
          {list.map((d) => (
            <tr key={d.sn} data-sn={d.sn}>
              <th scope="row" class="mono">
                {d.sn}
                {d.options?.['~DeviceName'] ? <div class="muted small">{d.options['~DeviceName']}</div> : null}
              </th>
              <td>
                {!d.approved ? (
                  <Badge tone="warn">Waiting for approval</Badge>
                ) : d.online ? (
                  <Badge tone="ok">Online</Badge>
                ) : (
                  <Badge tone="off">Offline</Badge>
                )}
              </td>
              <td title={d.last_seen ?? ''}>{ago(d.last_seen_unix, now)}</td>
              <td class="small">{d.firmware ?? '—'}</td>
              <td class="mono small">{d.ip || '—'}</td>
              <td class="num">{d.pending}</td>
              <td>
                <SyncCell row={sync.data?.get(d.sn)} />
              </td>
              {canTrace ? (
                <td>
                  <a href={`#/insight/trace/${enc(d.sn)}`} aria-label={`Wire trace of ${d.sn}`}>
                    Trace
                  </a>
                </td>
              ) : null}
            </tr>
          ))}
        </Table>
      )}
    </Section>
  );
}

export function SyncCell({ row }: { row: SyncRow | undefined }) {
  if (!row) return <span class="muted">—</span>;
  if (row.failed > 0) return <Badge tone="bad">{row.failed} failed</Badge>;
  if (row.pending > 0) return <Badge tone="warn">{row.pending} to send</Badge>;
  return <Badge tone="ok">In sync ({row.applied})</Badge>;
}

// ---- the door board -----------------------------------------------------------------------

function DoorBoard() {
  const panels = useResource((signal) => get<Panel[]>('/doors', signal), []);
  const [states, setStates] = useState<Record<string, DoorState>>({});
  const list = (panels.data ?? []).filter((p) => p.registered);

  // Every panel's state in one call, then the stream's door_state messages (newer, so they win).
  useResource(
    async (signal) => {
      if (!panels.data) return false;
      const all = await get<DoorState[]>('/doors/state', signal);
      setStates((old) => {
        const next = { ...old };
        for (const s of all) if (s.sn && !next[s.sn]) next[s.sn] = s;
        return next;
      });
      return true;
    },
    [!!panels.data],
  );
  useLive('door_state', (m) => {
    const s = m.data as DoorState;
    if (s.sn) setStates((old) => ({ ...old, [s.sn!]: s }));
  });
  useLive('device', (m) => {
    if (!panels.data?.some((p) => p.sn === (m.data as { sn: string }).sn)) panels.reload();
  });

  // A large site starts on the doors that need someone (open, forced, held open, alarms).
  const [filter, setFilter] = useState<string | null>(null);
  const only = filter ?? (list.length > 24 ? ATTENTION : '');
  const setOnly = setFilter;
  const needsAttention = (sn: string, door: number) => {
    const live = states[sn]?.doors.find((x) => x.door === door);
    return !!live && (live.alarms.length > 0 || live.sensor === 'open' || live.relay === 'disconnected');
  };
  const shown = (only && only !== ATTENTION ? list.filter((p) => p.sn === only) : list)
    .map((p) => ({ ...p, doors: only === ATTENTION ? p.doors.filter((d) => needsAttention(p.sn, d.door)) : p.doors }))
    .filter((p) => p.doors.length);
  return (
    <Section
      title="Doors"
      actions={
        list.length > 1 ? (
          <DeviceSelect
            label="Show"
            value={only}
            sns={list.map((p) => p.sn)}
            first={[
              { value: '', label: 'All devices' },
              { value: ATTENTION, label: 'Doors needing attention' },
            ]}
            onChange={setOnly}
          />
        ) : null
      }
    >
      <ErrorNote error={panels.error} />
      {!panels.data && panels.loading ? (
        <Loading what="doors" />
      ) : !shown.length ? (
        <Empty>{only === ATTENTION ? 'Every door is closed and locked, with no alarm.' : 'No panel has registered its doors yet.'}</Empty>
      ) : (
        shown.map((p) => (
          <div key={p.sn} class="panel-doors">
            <h3 class="mono">{p.sn}</h3>
            <ul class="door-grid" aria-label={`Doors of ${p.sn}`}>
              {p.doors.map((d) => (
                <DoorTile
                  key={d.door}
                  sn={p.sn}
                  door={d.door}
                  name={d.name}
                  live={states[p.sn]?.doors.find((x) => x.door === d.door)}
                  time={states[p.sn]?.time ?? null}
                />
              ))}
            </ul>
          </div>
        ))
      )}
    </Section>
  );
}

const ATTENTION = '!attention';

// The headline of a door from its sensor and alarms (rtstate, manual 8.2.2 / Appendix 14).
export function doorHeadline(live: DoorLive | undefined): { text: string; tone: string } {
  if (!live) return { text: 'Unknown', tone: 'off' };
  if (live.alarms.includes('accidental door opening')) return { text: 'Forced open', tone: 'bad' };
  if (live.alarms.includes('door sensor timeout alarm')) return { text: 'Held open', tone: 'bad' };
  if (live.sensor === 'open') return { text: 'Open', tone: 'warn' };
  if (live.sensor === 'closed') return { text: 'Closed', tone: 'ok' };
  return { text: 'No sensor', tone: 'off' };
}

function DoorTile({ sn, door, name, live, time }: { sn: string; door: number; name: string; live?: DoorLive; time: string | null }) {
  const canOperate = useCan('operator');
  const [seconds, setSeconds] = useState(5);
  const [answer, setAnswer] = useState('');
  const head = doorHeadline(live);
  const label = name || `Door ${door}`;
  const relay = live ? (live.relay === 'disconnected' ? 'Released' : live.relay === 'connected' ? 'Locked' : live.relay) : '—';
  const otherAlarms = (live?.alarms ?? []).filter((a) => a !== 'accidental door opening' && a !== 'door sensor timeout alarm');

  const act = async (what: string, path: string, body: unknown = {}) => {
    setAnswer(`${what}: sent, waiting for the device…`);
    const c = await post<Command>(`/doors/${enc(sn)}/${door}/${path}?wait=10s`, body, { accept: [504] });
    const text =
      c.status === 'done'
        ? `${what}: done (${c.return_name ?? 'ok'})`
        : c.status === 'failed'
          ? `${what}: the device refused (${c.return_name ?? c.return})`
          : `${what}: no answer yet (${c.status})`;
    setAnswer(text);
    toast(`${sn} ${label}: ${text}`, c.status === 'done' ? 'ok' : c.status === 'failed' ? 'error' : 'info');
  };

  return (
    <li class={`door door-${head.tone}`} data-door={door} data-sn={sn}>
      <div class="door-head">
        <strong>{label}</strong>
        <Badge tone={head.tone}>{head.text}</Badge>
      </div>
      <dl class="door-facts">
        <dt>Lock</dt>
        <dd data-relay={live?.relay ?? ''}>{relay}</dd>
        <dt>Sensor</dt>
        <dd data-sensor={live?.sensor ?? ''}>{live?.sensor ?? '—'}</dd>
        {otherAlarms.length ? (
          <>
            <dt>Alarms</dt>
            <dd class="alarm-text">{otherAlarms.join(', ')}</dd>
          </>
        ) : null}
        <dt>Since</dt>
        <dd class="small">{time ?? '—'}</dd>
      </dl>
      {canOperate ? (
        <div class="door-actions" role="group" aria-label={`Control ${label} of ${sn}`}>
          <div class="open-row">
            <label class="sr-only" for={`s-${sn}-${door}`}>
              Seconds to open {label}
            </label>
            <input
              id={`s-${sn}-${door}`}
              type="number"
              min={1}
              max={254}
              value={seconds}
              class="seconds"
              onInput={(e) => setSeconds(Number((e.target as HTMLInputElement).value) || 5)}
            />
            <span class="small muted">s</span>
            <ActionButton tone="primary" small onClick={() => act('Open', 'open', { seconds })}>
              Open
            </ActionButton>
          </div>
          <details class="more">
            <summary>More</summary>
            <div class="door-actions">
              <ActionButton small onClick={() => act('Lock', 'lock')}>
                Lock
              </ActionButton>
              <ActionButton small onClick={() => act('Unlock', 'unlock')}>
                Unlock
              </ActionButton>
              <ActionButton small onClick={() => act('Normal open', 'normal-open', { enable: true })}>
                Normal open
              </ActionButton>
              <ActionButton small onClick={() => act('Normal open off', 'normal-open', { enable: false })}>
                End normal open
              </ActionButton>
              <ActionButton small onClick={() => act('Close', 'close')}>
                Close now
              </ActionButton>
              {live?.alarms.length ? null : (
                <ActionButton small onClick={() => act('Cancel alarm', 'cancel-alarm')}>
                  Cancel alarm
                </ActionButton>
              )}
            </div>
          </details>
          {live?.alarms.length ? (
            <ActionButton small tone="danger" onClick={() => act('Cancel alarm', 'cancel-alarm')}>
              Cancel alarm
            </ActionButton>
          ) : null}
        </div>
      ) : null}
      {answer ? <p class="door-answer small">{answer}</p> : null}
    </li>
  );
}
