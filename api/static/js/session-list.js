// The conversation list. Browsing, it holds pages of 100 rows, fetching the next page when
// the end of the list scrolls into view, and groups them by day with pinned ones on top (the
// runs of scheduled jobs under "Scheduled"); searching, it holds the matches. Rows are patched
// in place, so a refresh keeps the scroll position and the pages already loaded, and an
// unchanged row keeps its DOM node.
import { get } from "./api.js";
import { el } from "./dom.js";
import { rowSignature, sessionRow } from "./session-row.js";

const PAGE = 100;
const OVERLAP = 5; // each page re-reads a few rows, so a removal above cannot make it skip one
const SEARCH_LIMIT = 100;
const AHEAD_PX = 600;
const DAY = 86400;

export class SessionList {
  /**
   * `options`: params() → the filter query parameters, query() → the search text,
   * keeps(row) → whether a changed row still belongs, emptyText(), onOpen, onMenu, onRendered.
   */
  constructor(container, options) {
    this.container = container;
    this.options = options;
    this.rows = [];
    this.total = 0;
    this.done = true;
    this.skip = 0;
    this.searching = "";
    this.nodes = new Map();
    this.sections = new Map();
    this.chain = Promise.resolve();
    this.status = el("p", { class: "list-status muted", role: "status" });
    this.sentinel = el("div", { class: "list-sentinel" }, this.status);
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) this.loadMore();
    }, { root: container, rootMargin: `0px 0px ${AHEAD_PX}px 0px` });
    observer.observe(this.sentinel);
  }

  /** Start over from the top: the filters or the search changed. */
  reload() {
    return this.queue(() => this.fetchFirst(true));
  }

  /** Bring the loaded rows up to date without losing the scroll position or later pages. */
  refresh() {
    return this.queue(() => this.fetchFirst(false));
  }

  loadMore() {
    if (this.done || this.searching || this.loading) return;
    this.loading = true;
    this.queue(() => this.fetchNext()).finally(() => { this.loading = false; });
  }

  get(id) {
    return this.rows.find((row) => row.session_id === id) || null;
  }

  /** Apply a session the server returned after an edit: move, keep or drop its row. */
  update(session) {
    const i = this.rows.findIndex((row) => row.session_id === session.session_id);
    const old = i >= 0 ? this.rows[i] : {};
    const row = { ...old, ...session, is_streaming: Boolean(old.is_streaming) };
    if (i >= 0) this.rows.splice(i, 1);
    if (!this.options.keeps(row)) {
      if (i >= 0) this.total -= 1;
    } else if (this.searching) {
      if (i >= 0) this.rows.splice(i, 0, row);
    } else {
      this.insertSorted(row);
    }
    this.render();
  }

  remove(id) {
    const before = this.rows.length;
    this.rows = this.rows.filter((row) => row.session_id !== id);
    this.total -= before - this.rows.length;
    this.render();
  }

  /** Rebuild rows whose look changed (e.g. a project's colour) from the rows in memory. */
  rerender() {
    this.render();
  }

  queue(task) {
    const run = this.chain.then(task);
    this.chain = run.catch(() => {});
    return run.catch(() => {}); // A failed request was already shown by the notice.
  }

  async fetchFirst(fromTop) {
    const query = this.options.query();
    if (query) {
      const data = await get("/api/sessions/search", { q: query, limit: SEARCH_LIMIT, ...this.options.params() });
      fromTop ||= query !== this.searching;
      this.searching = query;
      this.rows = data.sessions || [];
      this.total = this.rows.length;
      this.done = true;
    } else {
      const data = await get("/api/sessions", { limit: PAGE, offset: 0, ...this.options.params() });
      fromTop ||= Boolean(this.searching) || !this.rows.length;
      this.searching = "";
      if (fromTop) this.rows = [];
      this.merge(data.sessions || [], data.total ?? 0);
    }
    if (fromTop) this.container.scrollTop = 0;
    this.render();
    this.continueIfNearEnd();
  }

  /** Take a fresh first page; keep loaded rows that sort after it (later pages). */
  merge(fresh, total) {
    const ids = new Set(fresh.map((row) => row.session_id));
    const boundary = fresh[fresh.length - 1];
    const later = fresh.length < total && boundary
      ? this.rows.filter((row) => !ids.has(row.session_id) && compare(row, boundary) > 0)
      : [];
    this.rows = [...fresh, ...later];
    this.total = total;
    this.skip = 0;
    this.done = this.rows.length >= total;
  }

  async fetchNext() {
    if (this.done || this.searching) return;
    const offset = Math.max(0, this.rows.length - OVERLAP) + this.skip;
    this.status.textContent = "Loading more…";
    let data;
    try {
      data = await get("/api/sessions", { limit: PAGE, offset, ...this.options.params() });
    } catch (err) {
      this.status.textContent = "Could not load more conversations.";
      throw err;
    }
    const page = data.sessions || [];
    const known = new Set(this.rows.map((row) => row.session_id));
    const fresh = page.filter((row) => !known.has(row.session_id));
    this.skip = fresh.length ? 0 : this.skip + page.length;
    this.total = data.total ?? this.total;
    this.done = !page.length || offset + page.length >= this.total;
    const from = this.rows.length;
    this.rows.push(...fresh);
    this.appendRows(from);
    this.continueIfNearEnd();
  }

  /** A tall screen or a short page can leave the end in view: then the observer stays quiet. */
  continueIfNearEnd() {
    const box = this.container;
    if (this.done || !box.clientHeight) return;
    if (box.scrollHeight - box.scrollTop - box.clientHeight < AHEAD_PX) setTimeout(() => this.loadMore(), 0);
  }

  insertSorted(row) {
    const at = this.rows.findIndex((other) => compare(row, other) < 0);
    if (at >= 0) this.rows.splice(at, 0, row);
    else if (this.done) this.rows.push(row);
  }

  render() {
    const scroll = this.container.scrollTop;
    const reuse = this.nodes;
    this.nodes = new Map();
    this.sections = new Map();
    for (const row of this.rows) this.place(row, reuse);
    const content = this.rows.length ? [...this.sections.values()].map((s) => s.node) : [this.emptyNote()];
    this.container.replaceChildren(...content, this.sentinel);
    this.container.scrollTop = scroll;
    this.status.textContent = "";
    this.options.onRendered?.();
  }

  appendRows(from) {
    const before = new Set(this.sections.keys());
    for (const row of this.rows.slice(from)) this.place(row, this.nodes);
    for (const [name, section] of this.sections) {
      if (!before.has(name)) this.container.insertBefore(section.node, this.sentinel);
    }
    this.status.textContent = "";
    this.options.onRendered?.();
  }

  /** Put a row's node into its group's section, making the section on first use. */
  place(row, reuse) {
    const name = this.searching ? "Search results" : groupOf(row);
    let section = this.sections.get(name);
    if (!section) {
      const list = el("ul", { class: "session-group-list" });
      section = { list, node: el("section", { class: "session-group", "aria-label": name }, el("h2", { text: name }), list) };
      this.sections.set(name, section);
    }
    const signature = rowSignature(row, this.searching);
    const cached = reuse.get(row.session_id);
    const node = cached?.signature === signature
      ? cached.node
      : sessionRow(row, this.searching, { onOpen: this.options.onOpen, onMenu: this.options.onMenu });
    this.nodes.set(row.session_id, { signature, node });
    section.list.append(node);
  }

  emptyNote() {
    return el("p", { class: "muted list-empty", text: this.searching ? "No matches." : this.options.emptyText() });
  }
}

function when(row) {
  return row.last_message_at || row.updated_at || row.created_at || 0;
}

/** The server's order: pinned first, then newest activity. Negative when `a` comes first. */
function compare(a, b) {
  return (Number(Boolean(b.pinned)) - Number(Boolean(a.pinned))) || (when(b) - when(a));
}

function groupOf(row) {
  if (row.pinned) return "Pinned";
  if (row.source === "cron") return "Scheduled"; // runs of scheduled jobs, together
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  const today = midnight.getTime() / 1000;
  const time = when(row);
  if (time >= today) return "Today";
  if (time >= today - DAY) return "Yesterday";
  if (time >= today - 7 * DAY) return "Previous 7 days";
  return "Older";
}
