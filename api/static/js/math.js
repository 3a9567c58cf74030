// TeX formulas typeset by the vendored KaTeX, loaded (script and stylesheet) on the first
// formula so that pages without math never pay for it. Until it is there a formula shows its
// TeX source. KaTeX builds DOM nodes itself (no HTML parsing) and runs with `trust: false`, so
// \href, \url, \includegraphics and \html… commands render as inert red text.

const OPTIONS = {
  throwOnError: false, // a bad formula becomes a .katex-error span holding its source
  trust: false,
  strict: "ignore",
  maxSize: 50, // em: no formula can cover the page
  maxExpand: 500, // macro expansions: no formula can hang the tab
  output: "htmlAndMathml", // MathML for screen readers, HTML for the eye
  errorColor: "var(--danger)", // the theme's, readable on light and dark
};
const STYLESHEET = new URL("../vendor/katex/katex.min.css", import.meta.url).href;
let katex = null; // set once loaded: later formulas are typeset at once, in the same frame
let library = null;

function loadStylesheet() {
  return new Promise((resolve) => {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = STYLESHEET;
    link.addEventListener("load", resolve);
    link.addEventListener("error", resolve); // unstyled math still beats none
    document.head.append(link);
  });
}

function load() {
  library ??= Promise.all([import("../vendor/katex/katex.min.js"), loadStylesheet()])
    .then(() => {
      katex = globalThis.katex ?? null; // the build is UMD: it sets a global
      return katex;
    })
    .catch(() => null);
  return library;
}

/** An element showing `tex` as a formula: inline, or a display block when `display`. */
export function mathElement(tex, display) {
  const node = document.createElement(display ? "div" : "span");
  node.className = display ? "math math-display" : "math";
  node.textContent = tex;
  if (katex) typeset(node, tex, display);
  else load().then((loaded) => { if (loaded && node.textContent === tex) typeset(node, tex, display); });
  return node;
}

function typeset(node, tex, display) {
  try {
    katex.render(tex, node, { ...OPTIONS, displayMode: display });
  } catch (error) {
    // Only errors other than bad TeX get here (those are rendered by KaTeX itself).
    const span = document.createElement("span");
    span.className = "katex-error";
    span.title = String(error);
    span.textContent = tex;
    node.replaceChildren(span);
  }
}
