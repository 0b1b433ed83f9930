// One live stream per console tab, shared by every page: the pages subscribe to the kinds of
// message they show (events, door_state, command, device, sync).
import { useEffect, useRef, useState } from 'preact/hooks';
import { openStream, type StreamMessage, type StreamState } from './api';

type Listener = (m: StreamMessage) => void;

const listeners = new Map<string, Set<Listener>>();
const stateListeners = new Set<(s: StreamState) => void>();
let state: StreamState = 'connecting';
let close: (() => void) | null = null;

export function startLive(): void {
  if (close) return;
  close = openStream(
    (m) => {
      for (const l of listeners.get(m.kind) ?? []) l(m);
      for (const l of listeners.get('*') ?? []) l(m);
    },
    (s) => {
      state = s;
      for (const l of stateListeners) l(s);
    },
  );
}

export function stopLive(): void {
  close?.();
  close = null;
}

function subscribe(kind: string, listener: Listener): () => void {
  let set = listeners.get(kind);
  if (!set) listeners.set(kind, (set = new Set()));
  set.add(listener);
  return () => set!.delete(listener);
}

// Calls `listener` (its latest version) for each message of `kind` while the component is mounted.
export function useLive(kind: string, listener: Listener): void {
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => subscribe(kind, (m) => ref.current(m)), [kind]);
}

export function useStreamState(): StreamState {
  const [s, setS] = useState(state);
  useEffect(() => {
    stateListeners.add(setS);
    setS(state);
    return () => void stateListeners.delete(setS);
  }, []);
  return s;
}
