// Follows one chat run over Server-Sent Events. EventSource resends Last-Event-ID itself when
// it reconnects, so a dropped connection resumes exactly where it left off.

const EVENTS = ["token", "reasoning", "tool", "tool_complete", "approval", "status", "metering",
  "compressed", "done", "title_status", "title", "stream_end", "apperror", "cancel"];
const FINAL = new Set(["stream_end", "apperror", "cancel"]);

/** Calls handlers[eventName](data) for each event; returns { close }. `onEnd` runs once. */
export function followStream(streamId, handlers, onEnd) {
  const source = new EventSource(`/api/chat/stream?stream_id=${encodeURIComponent(streamId)}`);
  let ended = false;
  const finish = (reason) => {
    if (ended) return;
    ended = true;
    source.close();
    onEnd?.(reason);
  };
  for (const name of EVENTS) {
    source.addEventListener(name, (event) => {
      let data = {};
      try {
        data = JSON.parse(event.data);
      } catch {
        data = { text: event.data };
      }
      handlers[name]?.(data);
      if (FINAL.has(name)) finish(name);
    });
  }
  source.addEventListener("error", () => {
    // CLOSED means the server refused (e.g. 404 once the run has expired): stop following.
    if (source.readyState === EventSource.CLOSED) finish("lost");
  });
  return { close: () => finish("closed") };
}
