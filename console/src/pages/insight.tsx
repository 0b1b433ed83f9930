// Insight: events per hour, the top reasons for refusals, the panels whose sync fails, and the
// wire trace of one device (its last requests and answers, decoded as `zkpush decode` does).
import { useState } from 'preact/hooks';
import { enc, get, del, post } from '../api';
import type { Device, SyncView } from '../types';
import { ActionButton, Badge, DeviceSelect, Empty, ErrorNote, Loading, Section, Tabs, useCan, useInterval, useResource } from '../ui';
import { useSyncRows } from './live';

interface HourRow {
  hour: string;
  total: number;
  [cls: string]: number | string;
}
interface Stats {
  from: string;
  to: string;
  hours: number;
  per_hour: HourRow[];
  by_class: Record<string, number>;
  top_denials: { event: number; name: string; count: number }[];
}

export function InsightPage({ sn }: { sn?: string }) {
  // The trace shows what devices send (an operator's tool: GET /devices/{sn}/trace).
  const canTrace = useCan('operator');
  const tab = sn !== undefined && canTrace ? 'trace' : 'overview';
  return (
    <>
      <h1 class="page-title">Insight</h1>
      <Tabs
        tabs={[
          { id: 'overview', label: 'Overview' },
          ...(canTrace ? [{ id: 'trace', label: 'Wire trace' }] : []),
        ]}
        current={tab}
        href={(id) => (id === 'trace' ? '#/insight/trace/' : '#/insight')}
        label="Insight sections"
      />
      {tab === 'trace' ? <Trace sn={sn ?? ''} /> : <Overview />}
    </>
  );
}

function Overview() {
  const [hours, setHours] = useState(24);
  const stats = useResource((s) => get<Stats>(`/events/stats?hours=${hours}`, s), [hours]);
  useInterval(() => stats.reload(), 30000);
  return (
    <>
      <Section
        title="Events per hour"
        actions={
          <label class="inline-field">
            <span>Over</span>
            <select value={hours} onChange={(e) => setHours(Number((e.target as HTMLSelectElement).value))}>
              <option value={24}>the last 24 hours</option>
              <option value={72}>the last 3 days</option>
              <option value={168}>the last 7 days</option>
            </select>
          </label>
        }
      >
        <ErrorNote error={stats.error} />
        {!stats.data ? <Loading what="figures" /> : <HourChart stats={stats.data} />}
      </Section>
      <div class="two">
        <Section title="Top denial reasons">
          {!stats.data ? null : !stats.data.top_denials.length ? (
            <Empty>No refusal in this period.</Empty>
          ) : (
            <ol class="bars" aria-label="Top denial reasons">
              {stats.data.top_denials.map((d) => {
                const max = stats.data!.top_denials[0].count || 1;
                return (
                  <li key={d.event}>
                    <span class="bar-label">
                      <span class="mono small">{d.event}</span> {d.name}
                    </span>
                    <span class="bar-track" aria-hidden="true">
                      <span class="bar-fill" style={{ width: `${(d.count / max) * 100}%` }} />
                    </span>
                    <span class="num">{d.count}</span>
                  </li>
                );
              })}
            </ol>
          )}
        </Section>
        <SyncErrors />
      </div>
    </>
  );
}

const chartClasses = [
  { id: 'normal', label: 'Normal', cls: 'c-normal' },
  { id: 'error', label: 'Denied / error', cls: 'c-error' },
  { id: 'alarm', label: 'Alarm', cls: 'c-alarm' },
  { id: 'other', label: 'Other', cls: 'c-other' },
];

function HourChart({ stats }: { stats: Stats }) {
  const rows = stats.per_hour.map((r) => {
    const n = (k: string) => Number(r[k] ?? 0);
    const other = Math.max(0, r.total - n('normal') - n('error') - n('alarm'));
    return { hour: r.hour, total: r.total, parts: [n('normal'), n('error'), n('alarm'), other] };
  });
  const max = Math.max(1, ...rows.map((r) => r.total));
  const total = rows.reduce((a, r) => a + r.total, 0);
  const W = 720;
  const H = 200;
  const bw = W / Math.max(1, rows.length);
  const label = (iso: string) => iso.slice(11, 13) + 'h';
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H + 20}`} role="img" aria-label={`${total} events in ${stats.hours} hours, at most ${max} in one hour`}>
        {[0.5, 1].map((f) => (
          <line key={f} x1={0} x2={W} y1={H - f * H} y2={H - f * H} class="grid" />
        ))}
        {rows.map((r, i) => {
          let y = H;
          return (
            <g key={r.hour}>
              <title>{`${r.hour}: ${r.total} events`}</title>
              {r.parts.map((v, k) => {
                const h = (v / max) * H;
                y -= h;
                return v ? <rect key={k} x={i * bw + 1} y={y} width={Math.max(1, bw - 2)} height={h} class={chartClasses[k].cls} /> : null;
              })}
              {rows.length <= 48 ? (i % Math.ceil(rows.length / 12) === 0 ? <text x={i * bw + bw / 2} y={H + 14} class="axis">{label(r.hour)}</text> : null) : null}
            </g>
          );
        })}
        <text x={4} y={12} class="axis">
          {max}
        </text>
      </svg>
      <figcaption class="legend">
        {chartClasses.map((c) => (
          <span key={c.id}>
            <span class={`swatch ${c.cls}`} aria-hidden="true" /> {c.label}
          </span>
        ))}
        <span class="muted">({total} events, UTC hours)</span>
      </figcaption>
      <details>
        <summary>As a table</summary>
        <table class="table" aria-label="Events per hour">
          <thead>
            <tr>
              <th scope="col">Hour (UTC)</th>
              <th scope="col">Total</th>
              {chartClasses.map((c) => (
                <th key={c.id} scope="col">
                  {c.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows
              .filter((r) => r.total)
              .map((r) => (
                <tr key={r.hour}>
                  <td class="mono small">{r.hour}</td>
                  <td class="num">{r.total}</td>
                  {r.parts.map((v, k) => (
                    <td key={k} class="num">
                      {v}
                    </td>
                  ))}
                </tr>
              ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

function SyncErrors() {
  const rows = useSyncRows();
  const failing = [...(rows.data?.values() ?? [])].filter((r) => r.failed > 0);
  const [open, setOpen] = useState('');
  return (
    <Section title="Devices with sync errors">
      <ErrorNote error={rows.error} />
      {!rows.data ? (
        <Loading what="sync state" />
      ) : !failing.length ? (
        <Empty>Every panel holds what it should, or is still receiving it.</Empty>
      ) : (
        <ul class="plain-list">
          {failing.map((r) => (
            <li key={r.sn}>
              <button type="button" class="linkish mono" onClick={() => setOpen(open === r.sn ? '' : r.sn)} aria-expanded={open === r.sn}>
                {r.sn}
              </button>{' '}
              <Badge tone="bad">{r.failed} failed</Badge> <span class="muted small">{r.pending} pending</span>
              {open === r.sn ? <SyncDetail sn={r.sn} /> : null}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

function SyncDetail({ sn }: { sn: string }) {
  const view = useResource((s) => get<SyncView>(`/devices/${enc(sn)}/sync`, s), [sn]);
  const canEdit = useCan('operator');
  if (!view.data) return <ErrorNote error={view.error} />;
  return (
    <div class="sub">
      <ul class="small">
        {view.data.errors.map((e, i) => (
          <li key={i}>
            {e.kind} <span class="mono">{e.key}</span>: {e.error} {e.return !== null ? `(Return ${e.return})` : ''}, {e.attempts} attempts
          </li>
        ))}
      </ul>
      {canEdit ? (
        <ActionButton small onClick={async () => (await post(`/devices/${enc(sn)}/resync`, { clear: false }), view.reload())}>
          Retry now
        </ActionButton>
      ) : null}
    </div>
  );
}

// ---- the wire trace -------------------------------------------------------------------------

interface Body {
  body: string;
  bytes: number;
  truncated: boolean;
}
interface Exchange {
  seq: number;
  last_seq: number;
  time: string;
  last_time?: string;
  repeat: number;
  method: string;
  target: string;
  endpoint: string;
  duration_ms: number;
  status: number;
  request: Body;
  response: Body;
  decoded?: { request?: unknown; response?: unknown };
}
interface TraceView {
  sn: string;
  enabled: boolean;
  depth?: number;
  exchanges: Exchange[];
}

function Trace({ sn }: { sn: string }) {
  const devices = useResource((s) => get<Device[]>('/devices', s), []);
  const canEdit = useCan('operator');
  const [follow, setFollow] = useState(true);
  const trace = useResource((s) => (sn ? get<TraceView>(`/devices/${enc(sn)}/trace`, s) : Promise.resolve(null)), [sn]);
  // Following asks only for what is new or repeated since the newest entry seen (?after=), and
  // merges it: an entry that repeated again replaces its older copy.
  useInterval(async () => {
    const view = trace.data;
    if (!follow || !sn || !view?.enabled || trace.loading) return;
    const after = Math.max(0, ...view.exchanges.map((x) => x.last_seq));
    try {
      const fresh = await get<TraceView>(`/devices/${enc(sn)}/trace?after=${after}`);
      if (!fresh.exchanges.length) return;
      trace.set((old) => {
        if (!old || old.sn !== fresh.sn) return old;
        const bySeq = new Map(old.exchanges.map((x) => [x.seq, x]));
        for (const x of fresh.exchanges) bySeq.set(x.seq, x);
        const merged = [...bySeq.values()].sort((a, b) => b.seq - a.seq).slice(0, fresh.depth ?? 100);
        return { ...fresh, exchanges: merged };
      });
    } catch {
      trace.reload();
    }
  }, 3000);
  return (
    <Section
      title={sn ? `Wire trace of ${sn}` : 'Wire trace'}
      actions={
        <>
          <DeviceSelect
            label="Device"
            value={sn}
            sns={(devices.data ?? []).map((d) => d.sn)}
            first={[{ value: '', label: 'Choose…' }]}
            onChange={(v) => (location.hash = `#/insight/trace/${enc(v)}`)}
          />
          {sn ? (
            <label class="check">
              <input type="checkbox" checked={follow} onChange={(e) => setFollow((e.target as HTMLInputElement).checked)} /> Follow
            </label>
          ) : null}
          {sn && canEdit ? (
            <ActionButton small onClick={async () => (await del(`/devices/${enc(sn)}/trace`), trace.reload())}>
              Clear
            </ActionButton>
          ) : null}
        </>
      }
    >
      <p class="muted small">
        The device's last requests and the server's answers, kept in the server's memory (a few per device, repeated polls folded into one line), decoded as{' '}
        <code>zkpush decode</code> does.
      </p>
      <ErrorNote error={trace.error} />
      {!sn ? (
        <Empty>Choose a device.</Empty>
      ) : !trace.data ? (
        trace.loading ? <Loading what="the trace" /> : null
      ) : !trace.data.enabled ? (
        <Empty>The server keeps no trace (started with --trace-memory 0).</Empty>
      ) : !trace.data.exchanges.length ? (
        <Empty>Nothing from this device since the server started.</Empty>
      ) : (
        <ol class="trace" aria-label={`Exchanges of ${sn}, newest first`}>
          {trace.data.exchanges.map((x) => (
            <li key={x.seq}>
              <details>
                <summary>
                  <span class="mono small">{x.time.replace('T', ' ').replace('Z', '')}</span> <strong>{x.method}</strong>{' '}
                  <span class="mono small trace-target">{x.target}</span> <Badge tone={x.status < 300 ? 'ok' : x.status < 500 ? 'warn' : 'bad'}>{String(x.status)}</Badge>{' '}
                  <span class="muted small">
                    {x.endpoint} · {x.duration_ms} ms{x.repeat > 1 ? ` · ×${x.repeat}` : ''}
                    {summary(x)}
                  </span>
                </summary>
                <div class="trace-body">
                  <TraceBody title="Request body" body={x.request} decoded={x.decoded?.request} />
                  <TraceBody title="Response body" body={x.response} decoded={x.decoded?.response} />
                </div>
              </details>
            </li>
          ))}
        </ol>
      )}
    </Section>
  );
}

// What an exchange carried, in a few words: records uploaded, commands handed out.
function summary(x: Exchange): string {
  const req = x.decoded?.request as { records?: unknown[] } | undefined;
  const res = x.decoded?.response as { answer?: { kind?: string; commands?: unknown[] } } | undefined;
  const parts: string[] = [];
  if (req?.records?.length) parts.push(`${req.records.length} record${req.records.length > 1 ? 's' : ''}`);
  const n = res?.answer?.kind === 'commands' ? (res.answer.commands?.length ?? 0) : 0;
  if (n) parts.push(`${n} command${n > 1 ? 's' : ''} sent`);
  return parts.length ? ` · ${parts.join(', ')}` : '';
}

function TraceBody({ title, body, decoded }: { title: string; body: Body; decoded: unknown }) {
  return (
    <div>
      <h4>
        {title} <span class="muted small">({body.bytes} bytes{body.truncated ? ', cut' : ''})</span>
      </h4>
      <pre class="raw">{body.body || '(empty)'}</pre>
      {decoded !== undefined && decoded !== null ? (
        <>
          <h4>Decoded</h4>
          <pre class="decoded">{JSON.stringify(decoded, null, 2)}</pre>
        </>
      ) : null}
    </div>
  );
}
