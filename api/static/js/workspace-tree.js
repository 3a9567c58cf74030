// The workspace's directory tree: each directory loaded when it is opened, a page at a time
// ("Load more"), directories first. Every row is a button (Enter or Space opens it);
// directories say whether they are open with aria-expanded. Files the agent changed in the
// latest turn are marked "changed", and a directory holding one gets a dot.
import { get } from "./api.js";
import { clear, el } from "./dom.js";

const PAGE = 200;
const MAX_PAGE = 1000; // the server's largest page, for reloading what was shown

export function joinPath(dir, name) {
  return dir ? `${dir}/${name}` : name;
}

export function parentOf(path) {
  const cut = path.lastIndexOf("/");
  return cut < 0 ? "" : path.slice(0, cut);
}

/**
 * A tree in `container` for one conversation's workspace. `actions`: openFile(entry),
 * chose(dirPath) when a directory becomes the current one, failed(err, dirPath).
 */
export class WorkspaceTree {
  constructor(container, actions) {
    this.container = container;
    this.actions = actions;
    this.sessionId = null;
    this.changed = new Set();
    this.token = 0;
  }

  /** Shows `sessionId`'s workspace from its root (null: nothing). */
  async show(sessionId) {
    this.sessionId = sessionId;
    this.token += 1;
    clear(this.container);
    if (!sessionId) return;
    const root = this.group("");
    this.container.append(root);
    await this.load(root, "", 0, PAGE, this.token);
  }

  /** Reloads every directory shown, keeping what is open and how much of each is shown. */
  async refresh() {
    if (!this.sessionId) return;
    if (!this.container.querySelector(".ws-group")) {
      await this.show(this.sessionId); // the root never loaded: try again from the start
      return;
    }
    const token = this.token;
    const groups = [...this.container.querySelectorAll(".ws-group")].filter((group) => !group.closest(".ws-group[hidden]"));
    await Promise.all(groups.map((group) => {
      const shown = group.querySelector(":scope > ul").childElementCount;
      const limit = Math.min(MAX_PAGE, Math.max(PAGE, shown));
      return this.load(group, group.dataset.path, 0, limit, token, { replace: true });
    }));
  }

  /**
   * `paths`: the files the agent's file tools wrote; `since`: when the turn began, so a shown
   * file modified after it (a command the agent ran, say) is marked too.
   */
  setChanged(paths, since = null) {
    this.changed = new Set(paths);
    this.since = since;
    for (const item of this.container.querySelectorAll("li.ws-entry")) this.mark(item);
  }

  group(path) {
    const list = el("ul", { role: "group" });
    return el("div", { class: "ws-group", "data-path": path }, list);
  }

  /**
   * Loads a page of `path` into `group`. With `replace`, the page becomes the list: rows still
   * there are kept as they are (open, focused, with what they hold), new ones added in order,
   * gone ones removed.
   */
  async load(group, path, offset, limit, token, { replace = false } = {}) {
    let page;
    try {
      page = await get("/api/workspace/list", { session_id: this.sessionId, path, offset, limit }, { quiet: true });
    } catch (err) {
      if (token === this.token) this.actions.failed?.(err, path);
      return null;
    }
    if (token !== this.token || !group.isConnected) return null;
    const list = group.querySelector(":scope > ul");
    const rows = replace ? this.reconcile(list, page.entries, path) : page.entries.map((entry) => this.row(entry, path));
    if (!replace) list.append(...rows);
    this.moreButton(group, path, page.total - list.childElementCount, token);
    return rows;
  }

  reconcile(list, entries, path) {
    const key = (kind, itemPath) => `${kind}\u0000${itemPath}`;
    const existing = new Map([...list.children].map((item) => [key(item.dataset.kind, item.dataset.path), item]));
    const rows = entries.map((entry) => {
      const itemPath = joinPath(path, entry.name);
      const kept = existing.get(key(entry.kind, itemPath));
      if (!kept) return this.row(entry, path);
      existing.delete(key(entry.kind, itemPath));
      kept.querySelector(":scope > .ws-row .ws-name").title = describe(entry, itemPath);
      const size = kept.querySelector(":scope > .ws-row .ws-size");
      if (size && entry.size !== null) size.textContent = humanSize(entry.size);
      return kept;
    });
    for (const gone of existing.values()) gone.remove();
    rows.forEach((item, index) => {
      if (list.children[index] !== item) list.insertBefore(item, list.children[index] || null);
    });
    return rows;
  }

  moreButton(group, path, left, token) {
    group.querySelector(":scope > .ws-more")?.remove();
    if (left <= 0) return;
    const more = el("button", { type: "button", class: "ws-more link", text: `Load more (${left} left)` });
    more.addEventListener("click", async () => {
      more.disabled = true;
      const offset = group.querySelector(":scope > ul").childElementCount;
      const rows = await this.load(group, path, offset, PAGE, token);
      if (rows?.length) rows[0].querySelector(".ws-name").focus(); // keep the keyboard's place
      else more.disabled = false;
    });
    group.append(more);
  }

  row(entry, dir) {
    const path = joinPath(dir, entry.name);
    const item = el("li", { class: `ws-entry is-${entry.kind}`, "data-path": path, "data-kind": entry.kind, "data-mtime": String(entry.mtime ?? "") });
    const name = el("button", { type: "button", class: "ws-name", text: entry.name, title: describe(entry, path) });
    const row = el("div", { class: "ws-row" }, el("span", { class: "ws-icon", "aria-hidden": "true", text: ICONS[entry.kind] || "·" }), name);
    if (entry.kind === "file" && entry.size !== null) row.append(el("span", { class: "ws-size", text: humanSize(entry.size) }));
    item.append(row);
    // A link opens as what it leads to when that is inside the workspace; others stay shut.
    const opensAs = entry.kind === "link" ? entry.target : entry.kind;
    if (opensAs === "dir") {
      name.setAttribute("aria-expanded", "false");
      name.addEventListener("click", () => this.toggle(item));
    } else if (entry.kind === "link" && !opensAs) {
      name.setAttribute("aria-disabled", "true");
      name.title = `${path} — a link that leads outside the workspace (or nowhere): not followed`;
    } else {
      name.addEventListener("click", () => {
        this.actions.chose?.(dir);
        this.actions.openFile?.({ ...entry, path });
      });
    }
    this.mark(item);
    return item;
  }

  /** Opens a directory's row, loading it the first time; closes it when open. */
  toggle(item) {
    const button = item.querySelector(":scope > .ws-row .ws-name");
    if (button.getAttribute("aria-expanded") === "true") {
      button.setAttribute("aria-expanded", "false");
      item.querySelector(":scope > .ws-group").hidden = true;
      this.actions.chose?.(parentOf(item.dataset.path));
      return;
    }
    this.expand(item);
  }

  expand(item) {
    const path = item.dataset.path;
    const button = item.querySelector(":scope > .ws-row .ws-name");
    button.setAttribute("aria-expanded", "true");
    this.actions.chose?.(path);
    let group = item.querySelector(":scope > .ws-group");
    if (group) { // opened before: shown at once, then brought up to date
      group.hidden = false;
      const shown = group.querySelector(":scope > ul").childElementCount;
      return this.load(group, path, 0, Math.min(MAX_PAGE, Math.max(PAGE, shown)), this.token, { replace: true });
    }
    group = this.group(path);
    item.append(group);
    return this.load(group, path, 0, PAGE, this.token);
  }

  mark(item) {
    const path = item.dataset.path;
    const modified = item.dataset.kind === "file" && this.since !== null && this.since !== undefined
      && Number(item.dataset.mtime) > this.since;
    const changed = this.changed.has(path) || modified;
    const inside = item.dataset.kind === "dir" && [...this.changed].some((p) => p.startsWith(`${path}/`));
    item.classList.toggle("is-changed", changed);
    item.classList.toggle("has-changes", inside);
    const row = item.querySelector(":scope > .ws-row");
    row.querySelector(".ws-changed")?.remove();
    if (changed) row.append(el("span", { class: "ws-changed", text: "changed" }));
    else if (inside) row.append(el("span", { class: "ws-changed ws-dot", title: "Holds files changed in the latest turn" }, el("span", { class: "visually-hidden", text: "holds changed files" })));
  }
}

const ICONS = { dir: "▸", file: "·", link: "↪", other: "◦" };

function describe(entry, path) {
  const when = entry.mtime ? new Date(entry.mtime * 1000).toLocaleString() : "";
  const what = { dir: "folder", file: humanSize(entry.size ?? 0), link: "symbolic link", other: "special file" }[entry.kind];
  return `${path} — ${what}${when ? `, modified ${when}` : ""}`;
}

export function humanSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
