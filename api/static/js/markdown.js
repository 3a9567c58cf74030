// A small Markdown renderer for untrusted text. It builds DOM nodes and sets only textContent,
// so model output can never become markup; links are kept only for http(s) and mailto URLs.
import { copyButton } from "./clipboard.js";
import { el } from "./dom.js";
import { highlightCode } from "./syntax.js";

const FENCE = /^\s*(```|~~~)\s*([\w+.#-]*)\s*$/;
const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const BULLET = /^\s*[-*+]\s+(.*)$/;
const ORDERED = /^\s*(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^\s*>\s?(.*)$/;
const RULE = /^\s*([-*_])(\s*\1){2,}\s*$/;
const CONTINUATION = /^\s{2,}\S/;
const LINE_BREAK = /\r\n?|\n/g;

export function renderMarkdown(text) {
  const root = document.createDocumentFragment();
  const lines = String(text ?? "").split(LINE_BREAK);
  for (const block of scanBlocks(lines)) root.append(buildBlock(lines, block));
  return root;
}

/**
 * Renders a text that only grows (a streaming answer) into `target`; call the returned
 * function with the whole text so far. The block scanner keeps no state across a blank line
 * between blocks, so every block before the last such line is final: it is built once and
 * kept, and an update rebuilds only the blocks after it. The DOM always equals what
 * `renderMarkdown(text)` gives.
 */
export function markdownStream(target) {
  let committed = 0; // characters of the text whose blocks are built for good
  let live = [];
  return (text) => {
    if (text.length < committed) {
      target.replaceChildren();
      committed = 0;
      live = [];
    }
    const rest = text.slice(committed);
    const lines = rest.split(LINE_BREAK);
    const blocks = scanBlocks(lines);
    const cut = lastBlankBetweenBlocks(lines, blocks);
    for (const node of live) node.remove();
    const built = blocks.map((block) => buildBlock(lines, block));
    live = built.filter((_, n) => blocks[n].to > cut);
    target.append(...built);
    if (cut >= 0) committed += offsetAfterLine(rest, cut);
  };
}

/** Top-level blocks as line ranges `{kind, from, to}` (`to` exclusive), as the renderer sees them. */
function scanBlocks(lines) {
  const blocks = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const from = i;
    let kind;
    if (FENCE.test(line)) {
      kind = "fence";
      const marker = line.match(FENCE)[1];
      i += 1;
      while (i < lines.length && !lines[i].trim().startsWith(marker)) i += 1;
      i = Math.min(i + 1, lines.length);
    } else if (!line.trim()) {
      i += 1;
      continue;
    } else if (HEADING.test(line) || RULE.test(line)) {
      kind = HEADING.test(line) ? "heading" : "rule";
      i += 1;
    } else if (BULLET.test(line) || ORDERED.test(line)) {
      kind = "list";
      i = listEnd(lines, i);
    } else if (QUOTE.test(line)) {
      kind = "quote";
      while (i < lines.length && QUOTE.test(lines[i])) i += 1;
    } else {
      kind = "paragraph";
      while (i < lines.length && lines[i].trim() && !startsBlock(lines[i])) i += 1;
    }
    blocks.push({ kind, from, to: i });
  }
  return blocks;
}

/** The index of the last blank line outside every block and before the unfinished last line. */
function lastBlankBetweenBlocks(lines, blocks) {
  let previousEnd = 0;
  let cut = -1;
  for (const block of blocks) {
    for (let i = previousEnd; i < block.from; i += 1) cut = i;
    previousEnd = block.to;
  }
  for (let i = previousEnd; i < lines.length - 1; i += 1) cut = i;
  return cut;
}

/** How many characters of `text` its first `index + 1` lines take, line breaks included. */
function offsetAfterLine(text, index) {
  LINE_BREAK.lastIndex = 0;
  let end = 0;
  for (let n = 0; n <= index; n += 1) {
    const found = LINE_BREAK.exec(text);
    if (!found) return text.length;
    end = found.index + found[0].length;
  }
  return end;
}

function buildBlock(lines, { kind, from, to }) {
  const line = lines[from];
  switch (kind) {
    case "fence": {
      const [, marker, language] = line.match(FENCE);
      const closed = to - 1 > from && lines[to - 1].trim().startsWith(marker);
      return codeBlock(lines.slice(from + 1, closed ? to - 1 : to).join("\n"), language, closed);
    }
    case "heading": {
      const [, hashes, content] = line.match(HEADING);
      return el(`h${Math.min(hashes.length + 2, 6)}`, {}, inline(content));
    }
    case "rule":
      return el("hr");
    case "list":
      return list(lines.slice(from, to));
    case "quote":
      return el("blockquote", {}, renderMarkdown(lines.slice(from, to).map((l) => l.match(QUOTE)[1]).join("\n")));
    default:
      return paragraph(lines.slice(from, to));
  }
}

function startsBlock(line) {
  return FENCE.test(line) || HEADING.test(line) || BULLET.test(line) || ORDERED.test(line)
    || QUOTE.test(line) || RULE.test(line);
}

function paragraph(lines) {
  const p = el("p");
  lines.forEach((line, n) => {
    if (n) p.append(el("br"));
    p.append(inline(line.trim()));
  });
  return p;
}

function listPattern(line) {
  return ORDERED.test(line) && !BULLET.test(line) ? ORDERED : BULLET;
}

/** Where the list starting at `start` ends: its items and their indented continuation lines. */
function listEnd(lines, start) {
  const pattern = listPattern(lines[start]);
  let i = start;
  while (i < lines.length && pattern.test(lines[i])) {
    i += 1;
    while (i < lines.length && CONTINUATION.test(lines[i]) && !pattern.test(lines[i])) i += 1;
  }
  return i;
}

function list(lines) {
  const ordered = listPattern(lines[0]) === ORDERED;
  const node = el(ordered ? "ol" : "ul");
  if (ordered) {
    const first = Number(lines[0].match(ORDERED)[1]);
    if (first !== 1) node.start = first;
  }
  let item = null;
  for (const line of lines) {
    const match = line.match(ordered ? ORDERED : BULLET);
    if (match) {
      item = el("li", {}, inline(ordered ? match[2] : match[1]));
      node.append(item);
    } else {
      item.append(" ", inline(line.trim()));
    }
  }
  return node;
}

/** A fenced block with a copy button; coloured once its fence is closed (not mid-stream). */
function codeBlock(code, language, closed) {
  const copy = copyButton(code, { className: "copy", ariaLabel: "Copy code" });
  const head = el("div", { class: "code-head" }, el("span", { text: language || "code" }), copy);
  const body = el("code", { text: code });
  if (closed) highlightCode(body, language);
  return el("div", { class: "code" }, head, el("pre", {}, body));
}

// Inline spans, earliest match first: code, links, bold, italic, bare URLs.
const INLINE = [
  { kind: "code", re: /`([^`\n]+)`/ },
  { kind: "link", re: /\[([^\]\n]+)\]\(([^)\s]+)\)/ },
  { kind: "strong", re: /\*\*([^*\n]+?)\*\*|__([^_\n]+?)__/ },
  { kind: "em", re: /\*([^*\n]+?)\*|(?<![\w])_([^_\n]+?)_(?![\w])/ },
  { kind: "url", re: /\bhttps?:\/\/[^\s<>()]+[^\s<>().,;:!?'"]/ },
];

export function inline(text) {
  const out = document.createDocumentFragment();
  let rest = text;
  while (rest) {
    let best = null;
    for (const rule of INLINE) {
      const match = rule.re.exec(rest);
      if (match && (!best || match.index < best.match.index)) best = { rule, match };
    }
    if (!best) {
      out.append(rest);
      break;
    }
    const { rule, match } = best;
    if (match.index) out.append(rest.slice(0, match.index));
    out.append(span(rule.kind, match));
    rest = rest.slice(match.index + match[0].length);
  }
  return out;
}

function span(kind, match) {
  switch (kind) {
    case "code":
      return el("code", { text: match[1] });
    case "link":
      return safeLink(match[2], inline(match[1])) || document.createTextNode(match[0]);
    case "strong":
      return el("strong", {}, inline(match[1] ?? match[2]));
    case "em":
      return el("em", {}, inline(match[1] ?? match[2]));
    default:
      return safeLink(match[0], match[0]) || document.createTextNode(match[0]);
  }
}

export function safeUrl(raw) {
  try {
    const url = new URL(raw, window.location.href);
    if (!/^(https?:|mailto:)$/.test(url.protocol)) return null;
    if (url.protocol !== "mailto:" && !/^(https?:)?\/\//i.test(raw)) return null;
    return url.href;
  } catch {
    return null;
  }
}

function safeLink(raw, content) {
  const href = safeUrl(raw);
  if (!href) return null;
  return el("a", { href, target: "_blank", rel: "noopener noreferrer nofollow" }, content);
}
