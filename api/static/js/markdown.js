// A small Markdown renderer for untrusted text. It builds DOM nodes and sets only textContent,
// so model output can never become markup; links are kept only for http(s) and mailto URLs.
import { el } from "./dom.js";

const FENCE = /^\s*(```|~~~)\s*([\w+.#-]*)\s*$/;
const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const BULLET = /^\s*[-*+]\s+(.*)$/;
const ORDERED = /^\s*(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^\s*>\s?(.*)$/;
const RULE = /^\s*([-*_])(\s*\1){2,}\s*$/;

export function renderMarkdown(text) {
  const root = document.createDocumentFragment();
  const lines = String(text ?? "").replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = line.match(FENCE);
    if (fence) {
      const body = [];
      i += 1;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
      i += 1;
      root.append(codeBlock(body.join("\n"), fence[2]));
    } else if (!line.trim()) {
      i += 1;
    } else if (HEADING.test(line)) {
      const [, hashes, content] = line.match(HEADING);
      root.append(el(`h${Math.min(hashes.length + 2, 6)}`, {}, inline(content)));
      i += 1;
    } else if (RULE.test(line)) {
      root.append(el("hr"));
      i += 1;
    } else if (BULLET.test(line) || ORDERED.test(line)) {
      i = list(lines, i, root);
    } else if (QUOTE.test(line)) {
      const body = [];
      while (i < lines.length && QUOTE.test(lines[i])) body.push(lines[i++].match(QUOTE)[1]);
      root.append(el("blockquote", {}, renderMarkdown(body.join("\n"))));
    } else {
      const body = [];
      while (i < lines.length && lines[i].trim() && !startsBlock(lines[i])) body.push(lines[i++]);
      root.append(paragraph(body));
    }
  }
  return root;
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

function list(lines, start, root) {
  const ordered = ORDERED.test(lines[start]) && !BULLET.test(lines[start]);
  const pattern = ordered ? ORDERED : BULLET;
  const node = el(ordered ? "ol" : "ul");
  if (ordered) {
    const first = Number(lines[start].match(ORDERED)[1]);
    if (first !== 1) node.start = first;
  }
  let i = start;
  while (i < lines.length && pattern.test(lines[i])) {
    const match = lines[i].match(pattern);
    const item = el("li", {}, inline(ordered ? match[2] : match[1]));
    i += 1;
    while (i < lines.length && /^\s{2,}\S/.test(lines[i]) && !pattern.test(lines[i])) {
      item.append(" ", inline(lines[i].trim()));
      i += 1;
    }
    node.append(item);
  }
  root.append(node);
  return i;
}

function codeBlock(code, language) {
  const copy = el("button", { type: "button", class: "copy", text: "Copy", "aria-label": "Copy code" });
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(code);
      copy.textContent = "Copied";
    } catch {
      copy.textContent = "Copy failed";
    }
    setTimeout(() => { copy.textContent = "Copy"; }, 1500);
  });
  const head = el("div", { class: "code-head" }, el("span", { text: language || "code" }), copy);
  return el("div", { class: "code" }, head, el("pre", {}, el("code", { text: code })));
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
