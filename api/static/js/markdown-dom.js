// Builds DOM from markdown-it's tokens. Nothing is ever parsed as HTML: every element comes
// from a fixed list of tags, text is set as text, and the only attributes are the ones set
// here (checked link targets, our attachment images, list starts, column alignment).
import { copyButton } from "./clipboard.js";
import { el } from "./dom.js";
import { mathElement } from "./math.js";
import { highlightCode } from "./syntax.js";

const LINK_ATTRS = { target: "_blank", rel: "noopener noreferrer nofollow" };
const ATTACHMENTS = "/api/attachment/";
const ALIGN = /^text-align:(left|center|right)$/;
// The tags markdown-it opens that we build as they are; any other opening token becomes a <span>.
const CONTAINERS = new Set([
  "p", "blockquote", "ul", "ol", "li", "thead", "tbody", "tr", "th", "td", "em", "strong", "s",
]);

/**
 * The top-level blocks of a parsed document: `{ token, nodes }` each, where `token` is the
 * block's first token (its `map` gives its source lines) and `nodes` what was built for it.
 */
export function buildBlocks(tokens) {
  const blocks = [];
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i];
    let end = i + 1;
    if (token.nesting === 1) {
      for (let depth = 1; depth > 0 && end < tokens.length; end += 1) depth += tokens[end].nesting;
    }
    const fragment = document.createDocumentFragment();
    build(tokens.slice(i, end), fragment);
    blocks.push({ token, nodes: [...fragment.childNodes] });
    i = end;
  }
  return blocks;
}

/** Appends what `tokens` (block or inline level) describe to `parent`. */
function build(tokens, parent) {
  const stack = [parent];
  for (const token of tokens) {
    const top = stack[stack.length - 1];
    if (token.nesting === -1) {
      if (stack.length > 1) stack.pop();
    } else if (token.nesting === 1) {
      const { append, into } = open(token, top);
      if (append !== top) top.append(append);
      stack.push(into);
    } else if (token.type === "inline") {
      build(token.children || [], top);
    } else {
      const node = leaf(token);
      if (node) top.append(node);
    }
  }
}

/** The element an opening token starts: what to append, and where its children go. */
function open(token, parent) {
  if (token.hidden) return { append: parent, into: parent }; // paragraphs of tight lists
  switch (token.type) {
    case "heading_open":
      return same(el(`h${Math.min(Number(token.tag.slice(1)) + 2, 6)}`));
    case "ordered_list_open": {
      const start = token.attrGet("start"); // set by markdown-it only when it is not 1
      return same(el("ol", { start: /^\d{1,9}$/.test(start ?? "") ? start : null }));
    }
    case "list_item_open":
      return same(listItem(token));
    case "table_open": {
      const table = el("table");
      return { append: el("div", { class: "table-wrap" }, table), into: table };
    }
    case "th_open":
    case "td_open": {
      const cell = el(token.tag);
      const align = ALIGN.exec(token.attrGet("style") || "");
      if (align) cell.style.textAlign = align[1];
      return same(cell);
    }
    case "link_open": {
      const href = safeUrl(token.attrGet("href"));
      if (!href) return { append: parent, into: parent }; // its text stays, unlinked
      return same(el("a", { href, title: token.attrGet("title"), ...LINK_ATTRS }));
    }
    default:
      return same(el(CONTAINERS.has(token.tag) ? token.tag : "span"));
  }
}

function same(node) {
  return { append: node, into: node };
}

function listItem(token) {
  const item = el("li");
  const task = token.meta?.task;
  if (task) {
    item.className = "task";
    item.append(el("input", { type: "checkbox", disabled: "", checked: task === "done" ? "" : null }));
  }
  return item;
}

/** A token without children: text, breaks, code, math, images, rules. */
function leaf(token) {
  switch (token.type) {
    case "text":
    case "text_special":
    case "html_inline": // raw HTML is off; should any come, it is text
      return document.createTextNode(token.content);
    case "html_block":
      return el("p", { text: token.content });
    case "softbreak":
    case "hardbreak":
      return el("br"); // a line break in an answer is a line break, as in chat apps
    case "code_inline":
      return el("code", { text: token.content });
    case "fence":
      return codeBlock(token.content, token.info.trim().split(/\s+/)[0], token.meta?.closed);
    case "code_block":
      return codeBlock(token.content, "", false);
    case "hr":
      return el("hr");
    case "math_inline":
      return mathElement(token.content, token.meta.display);
    case "math_block":
      return token.meta.closed
        ? mathElement(token.content, true)
        : el("div", { class: "math-source", text: token.meta.source.replace(/\n$/, "") });
    case "image":
      return image(token);
    default:
      return token.content ? document.createTextNode(token.content) : null;
  }
}

/** A fenced block with a copy button; coloured once its fence is closed (not mid-stream). */
function codeBlock(content, language, closed) {
  const code = content.replace(/\n$/, "");
  const copy = copyButton(code, { className: "copy", ariaLabel: "Copy code" });
  const head = el("div", { class: "code-head" }, el("span", { text: language || "code" }), copy);
  const body = el("code", { text: code });
  if (closed) highlightCode(body, language);
  return el("div", { class: "code" }, head, el("pre", {}, body));
}

/** Our own attachments are shown; an image from anywhere else becomes a link to it (never
 * fetched, so no other site learns that the answer was read), or its alt text. */
function image(token) {
  const src = token.attrGet("src") || "";
  const alt = plainText(token.children || []);
  const own = attachmentUrl(src);
  if (own) return el("img", { src: own, alt, title: token.attrGet("title"), loading: "lazy" });
  const href = safeUrl(src);
  if (href) return el("a", { href, ...LINK_ATTRS }, alt || href);
  return alt ? document.createTextNode(alt) : null;
}

function plainText(tokens) {
  return tokens.map((t) => (t.children ? plainText(t.children) : t.content || "")).join("");
}

/** The address of one of our attachments (`/api/attachment/…` on this server), or null. */
export function attachmentUrl(raw) {
  if (!raw.startsWith(ATTACHMENTS) || raw.includes("\\")) return null;
  try {
    const url = new URL(raw, window.location.origin);
    if (url.origin !== window.location.origin || !url.pathname.startsWith(ATTACHMENTS)) return null;
    return url.href;
  } catch {
    return null;
  }
}

/** An absolute http(s) or a mailto URL, or null: the only links an answer may hold. */
export function safeUrl(raw) {
  if (!raw) return null;
  try {
    const url = new URL(raw);
    if (!/^(https?:|mailto:)$/.test(url.protocol)) return null;
    if (url.protocol !== "mailto:" && !/^https?:\/\//i.test(raw)) return null;
    return url.href;
  } catch {
    return null;
  }
}
