// The preview of one workspace file, under the tree: code coloured by the vendored
// highlight.js, Markdown rendered as answers are (raw HTML off), raster images, and a
// Download link for every file. The server decides what may be shown inline (text as
// text/plain, raster images); anything else is offered as a download only. HTML and SVG files
// download too, and are shown here as their source text, never as pages.
import { withQuery } from "./api.js";
import { clear, el } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { highlightCode } from "./syntax.js";
import { humanSize } from "./workspace-tree.js";

const MARKDOWN = /\.(md|markdown|mdown|mkd)$/i;
const PAGES = /\.(html?|xhtml|shtml|svg)$/i; // downloads only: their source is shown as text
const PLAIN = /(^|\/)[^./]+$|\.(txt|log|text|csv|tsv)$/i; // no colouring to guess at
const SOURCE_LIMIT = 1024 * 1024;

export function fileUrl(sessionId, path, { download = false } = {}) {
  return withQuery("/api/workspace/file", { session_id: sessionId, path, download: download ? 1 : undefined });
}

export class WorkspacePreview {
  constructor(section, { closed } = {}) {
    this.section = section;
    this.title = el("h3", { class: "ws-preview-title" });
    this.download = el("a", { class: "ws-download file-button", text: "Download", download: "" });
    this.close = el("button", { type: "button", class: "icon ws-preview-close", "aria-label": "Close the preview", title: "Close the preview", text: "×" });
    this.body = el("div", { class: "ws-preview-body", tabindex: "0" });
    this.close.addEventListener("click", () => {
      const shown = this.current;
      this.hide();
      closed?.(shown);
    });
    section.append(el("div", { class: "ws-preview-head" }, this.title, this.download, this.close), this.body);
    this.token = 0;
    this.objectUrl = null;
  }

  hide() {
    this.token += 1;
    this.section.hidden = true;
    this.current = null;
    this.release();
    clear(this.body);
  }

  /** Shows `entry` ({path, name, size}) of `sessionId`'s workspace. */
  async show(sessionId, entry) {
    const token = ++this.token;
    this.current = entry.path;
    this.title.textContent = entry.name;
    this.title.title = entry.path;
    this.download.href = fileUrl(sessionId, entry.path, { download: true });
    this.download.setAttribute("aria-label", `Download ${entry.name}`);
    this.section.hidden = false;
    this.release();
    clear(this.body).append(el("p", { class: "muted", text: "Loading…" }));
    const source = PAGES.test(entry.path) && (entry.size ?? 0) <= SOURCE_LIMIT;
    let reply;
    try {
      reply = await fetch(fileUrl(sessionId, entry.path, { download: source }), { credentials: "same-origin" });
    } catch {
      if (token === this.token) this.say("Cannot reach the server.");
      return;
    }
    if (token !== this.token) {
      reply.body?.cancel();
      return;
    }
    if (!reply.ok) {
      const data = await reply.json().catch(() => ({}));
      this.say(data.error || `${reply.status} ${reply.statusText}`);
      return;
    }
    await this.render(reply, entry, source, token);
  }

  async render(reply, entry, source, token) {
    const type = reply.headers.get("content-type") || "";
    if (type.startsWith("image/")) {
      const blob = await reply.blob();
      if (token !== this.token) return;
      this.objectUrl = URL.createObjectURL(blob);
      clear(this.body).append(el("img", { class: "ws-image", src: this.objectUrl, alt: entry.name }));
      return;
    }
    if (!type.startsWith("text/plain") && !source) {
      reply.body?.cancel();
      this.say("No preview for this kind of file; download it to open it.");
      return;
    }
    const text = await reply.text();
    if (token !== this.token) return;
    const nodes = [];
    if (reply.headers.get("x-hermes-truncated") === "true") {
      const size = Number(reply.headers.get("x-hermes-size"));
      nodes.push(el("p", { class: "ws-note", text: `Showing the first 1 MB of ${humanSize(size)}; download the file for all of it.` }));
    }
    if (source) nodes.push(el("p", { class: "ws-note", text: "Shown as source: pages and SVG files are never opened here." }));
    if (MARKDOWN.test(entry.path)) {
      nodes.push(el("div", { class: "ws-markdown bubble-body" }, renderMarkdown(text)));
      clear(this.body).append(...nodes);
      return;
    }
    const code = el("code", { text });
    nodes.push(el("pre", { class: "ws-code" }, code));
    clear(this.body).append(...nodes);
    if (!PLAIN.test(entry.path)) highlightCode(code, extension(entry.path));
  }

  say(message) {
    clear(this.body).append(el("p", { class: "muted", role: "status", text: message }));
  }

  release() {
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = null;
  }
}

function extension(path) {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
}
