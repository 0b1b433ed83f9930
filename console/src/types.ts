// The JSON shapes of the API the console reads (docs/serve.md, docs/access.md).

export interface Device {
  sn: string;
  online: boolean;
  last_seen: string | null;
  last_seen_unix: number | null;
  approved: boolean;
  ip: string;
  firmware: string | null;
  push_version: string;
  options: Record<string, string>;
  registered: boolean;
  time_zone: string | null;
  config: Record<string, string | number>;
  pending: number;
}

export interface DoorLive {
  door: number;
  sensor: string; // closed, open, unknown / none
  relay: string; // connected (locked), disconnected (released)
  alarms: string[];
}

export interface DoorState {
  sn?: string;
  doors: DoorLive[];
  time: string | null;
  time_utc?: number | null;
}

export interface Door {
  sn: string;
  door: number;
  name: string;
  settings: Record<string, unknown>;
  access_levels: number[];
}

export interface Panel {
  sn: string;
  registered: boolean;
  lock_count: number;
  reader_count: number;
  aux_in_count: number;
  aux_out_count: number;
  settings: Record<string, unknown>;
  doors: Door[];
}

export interface AccessEvent {
  id: number;
  sn: string;
  time: string | null;
  pin: string;
  person_name: string | null;
  cardno: string;
  event: number | null;
  event_name: string;
  door: number | null;
  inout: number | null;
  verify_name: string;
  time_utc: number | null;
  event_class: string;
}

export interface Command {
  id: number;
  sn: string;
  line: string;
  status: string;
  return: number | null;
  return_name: string | null;
  return_kind?: string;
  created_at: number;
  done_at?: number | null;
}

export interface Credential {
  id: number;
  type: string;
  finger?: number | null;
  no?: number | null;
  format?: string;
  enrolled_at?: string | null;
}

export interface Person {
  pin: string;
  name: string;
  cards: string[];
  lost_cards: string[];
  access_levels: number[];
  credentials?: Credential[];
  privilege?: number;
  group?: number;
  has_password?: boolean;
  valid_from: string | null;
  valid_until: string | null;
  disabled: boolean;
  enrolled_at?: string | null;
}

export type Segments = Record<string, [string, string][]>;

export interface TimeRule {
  id: number;
  name: string;
  segments: Segments;
}

export interface Holiday {
  id: number;
  name: string;
  date?: string;
  start: string;
  end: string;
  type: number;
  yearly: boolean;
}

export interface AccessLevel {
  id: number;
  name: string;
  time_rule_id: number;
  doors: { sn: string; door: number }[];
}

export interface SyncView {
  pending: number;
  applied: number;
  failed: number;
  errors: { kind: string; key: string; return: number | null; error: string; attempts: number }[];
  commands: number;
  in_flight: number;
}

export interface Job {
  id: number;
  kind: string;
  state: 'running' | 'done' | 'failed';
  total: number;
  processed: number;
  created: number;
  updated: number;
  failed: number;
  errors: { row: number; pin: string; error: string }[];
}

export interface ApiTokenRow {
  id: number;
  name: string;
  role: string;
  created_at?: number | string;
  last_used_at?: number | string | null;
  revoked?: boolean;
}

export interface Webhook {
  id: number;
  url: string;
  events: string[];
  max_attempts?: number;
  [key: string]: unknown;
}

export interface ApbZoneDoor {
  sn: string;
  door: number;
  direction: 'in' | 'out' | 'reader';
}

export interface ApbZone {
  id: number;
  name: string;
  mode: 'logical' | 'timed';
  minutes: number | null;
  doors: ApbZoneDoor[];
}

export interface ApbPresence {
  pin: string;
  inside: boolean;
  entered_at: number | null;
  exited_at: number | null;
}
