// Code colouring with the vendored highlight.js, loaded on first use so that pages without
// code never pay for it. Its output is HTML, which we do not trust as HTML: it is parsed in an
// inert document and rebuilt from <span class="hljs-…"> elements and text nodes only.

const MAX_CHARS = 60_000;
const MAX_AUTO_CHARS = 4_000;
let library = null;

function load() {
  library ??= import("../vendor/highlight/highlight.min.js")
    .then((module) => module.default)
    .catch(() => null);
  return library;
}

/** Colour a <code> element's text in place; plain text stays when nothing fits. */
export async function highlightCode(code, language) {
  const text = code.textContent;
  if (!text.trim() || text.length > MAX_CHARS) return;
  const hljs = await load();
  if (!hljs || code.textContent !== text) return;
  const known = language && hljs.getLanguage(language);
  if (!known && text.length > MAX_AUTO_CHARS) return;
  const result = known
    ? hljs.highlight(text, { language, ignoreIllegals: true })
    : hljs.highlightAuto(text);
  const parsed = new DOMParser().parseFromString(`<body>${result.value}</body>`, "text/html");
  const nodes = rebuild(parsed.body);
  const rebuilt = nodes.map((node) => node.textContent).join("");
  if (rebuilt !== text) return;
  code.replaceChildren(...nodes);
  code.classList.add("hljs");
  if (!known && result.language) code.dataset.language = result.language;
}

function rebuild(parent) {
  const out = [];
  for (const child of parent.childNodes) {
    if (child.nodeType === Node.TEXT_NODE) {
      out.push(document.createTextNode(child.data));
    } else if (child.nodeType === Node.ELEMENT_NODE) {
      if (child.tagName !== "SPAN") {
        out.push(document.createTextNode(child.textContent));
        continue;
      }
      const span = document.createElement("span");
      const classes = [...child.classList].filter((name) => /^(hljs-[\w-]+|[a-z]+_*)$/.test(name));
      if (classes.length) span.className = classes.join(" ");
      span.append(...rebuild(child));
      out.push(span);
    }
  }
  return out;
}
