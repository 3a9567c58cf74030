// Follows one chat run over Server-Sent Events and survives dropped connections.
//
// While EventSource is CONNECTING it retries by itself and resends Last-Event-ID. When it
// gives up (CLOSED: the server answered with an error, e.g. while it restarts), the stream is
// reopened here after growing pauses, resuming after the last event seen (`after=`). When the
// run no longer exists anywhere, following ends with "lost" and the caller loads what was saved.
import { get } from "./api.js";

const EVENTS = ["token", "reasoning", "tool", "tool_complete", "approval", "approval_answered", "status", "metering",
  "compressed", "done", "title_status", "title", "stream_end", "apperror", "cancel"];
const FINAL = new Set(["stream_end", "apperror", "cancel"]);
const BACKOFF_MS = [1000, 2000, 4000, 8000, 16000, 30000];
const MAX_REOPENS = 15; // about six minutes of trying, most of it at the longest pause
const watchers = new Set();

/** Hears every event of every run followed here, after its handler: (name, data, streamId). */
export function onStreamEvent(watcher) {
  watchers.add(watcher);
}

/**
 * Calls handlers[eventName](data) for each event, each exactly once. `onState("reconnecting")`
 * and `onState("live")` report the connection; `onEnd(reason)` runs once, with the final
 * event's name, "lost" or "closed". Returns { close }.
 */
export function followStream(streamId, handlers, { onEnd, onState } = {}) {
  let source = null;
  let lastId = "";
  let lastSeq = 0;
  let reopens = 0;
  let timer = null;
  let ended = false;

  const finish = (reason) => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    source?.close();
    onEnd?.(reason);
  };

  const deliver = (name, event) => {
    if (ended) return;
    const seq = sequenceOf(event.lastEventId, streamId);
    if (seq !== null) {
      if (seq <= lastSeq) return; // already shown: a replay must never repeat text
      lastSeq = seq;
      lastId = event.lastEventId;
    }
    const data = parse(event.data);
    handlers[name]?.(data);
    for (const watcher of watchers) watcher(name, data, streamId);
    if (FINAL.has(name)) finish(name);
  };

  const reopenLater = () => {
    source.close();
    onState?.("reconnecting");
    if (reopens >= MAX_REOPENS) {
      finish("lost");
      return;
    }
    const delay = BACKOFF_MS[Math.min(reopens, BACKOFF_MS.length - 1)];
    reopens += 1;
    timer = setTimeout(async () => {
      const state = await runState(streamId);
      if (ended) return;
      if (state === "gone") finish("lost");
      else if (state === "unreachable") reopenLater();
      else open();
    }, delay);
  };

  const open = () => {
    const query = new URLSearchParams({ stream_id: streamId });
    if (lastId) query.set("after", lastId);
    source = new EventSource(`/api/chat/stream?${query}`);
    for (const name of EVENTS) source.addEventListener(name, (event) => deliver(name, event));
    source.addEventListener("open", () => {
      reopens = 0;
      onState?.("live");
    });
    source.addEventListener("error", () => {
      if (ended) return;
      if (source.readyState === EventSource.CLOSED) reopenLater();
      else onState?.("reconnecting");
    });
  };

  open();
  return { close: () => finish("closed") };
}

/** "exists" (live or recently finished), "gone", or "unreachable" when the server is down. */
async function runState(streamId) {
  try {
    const status = await get("/api/chat/stream/status", { stream_id: streamId }, { quiet: true });
    return status.active || status.finished ? "exists" : "gone";
  } catch {
    return "unreachable";
  }
}

function sequenceOf(eventId, streamId) {
  const prefix = `${streamId}:`;
  if (!eventId || !eventId.startsWith(prefix)) return null;
  const seq = Number(eventId.slice(prefix.length));
  return Number.isInteger(seq) ? seq : null;
}

function parse(raw) {
  try {
    return JSON.parse(raw);
  } catch {
    return { text: raw };
  }
}
