// Markdown for untrusted text (answers, error notes): the vendored markdown-it parses it with
// raw HTML off (tables, strikethrough and bare http(s) links on; math and task lists from our
// own rules), and markdown-dom.js builds DOM from its tokens, so model output never becomes
// markup. Links are kept only for http(s) and mailto URLs; images only from our attachments.
import markdownit from "../vendor/markdown-it/markdown-it.esm.min.mjs";
import { buildBlocks, safeUrl } from "./markdown-dom.js";
import { mathPlugin } from "./markdown-math.js";
import { fenceEndPlugin, taskListPlugin } from "./markdown-rules.js";

export { safeUrl };

const LINKABLE = /^(https?:\/\/|mailto:)/i;
const ATTACHMENTS = "/api/attachment/";
const LINE_BREAK = /\r\n?|\n/g;
const BLANK = /^[ \t]*$/;
// Blocks that lines after a blank line can still extend: a list (another item makes it
// loose, indented text joins an item), an indented code block, a fence not yet closed.
const CONTINUABLE = new Set(["bullet_list_open", "ordered_list_open", "code_block"]);

const md = markdownit({ html: false, linkify: true, typographer: false })
  .use(mathPlugin)
  .use(taskListPlugin)
  .use(fenceEndPlugin);
md.linkify.set({ fuzzyLink: false, fuzzyEmail: false }); // "main.py" is a file, not a site
// Anything else stays as the text that was written ([x](javascript:…) shows as typed).
md.validateLink = (url) => LINKABLE.test(url) || url.startsWith(ATTACHMENTS);

export function renderMarkdown(text) {
  const root = document.createDocumentFragment();
  for (const block of buildBlocks(md.parse(String(text ?? ""), {}))) root.append(...block.nodes);
  return root;
}

/**
 * Renders a text that only grows (a streaming answer) into `target`; call the returned
 * function with the whole text so far. A top-level block followed by a complete blank line
 * can no longer change (lists, indented code and open fences only once another block has
 * begun on a complete line), so it is built once and kept; an update parses and rebuilds
 * only the text after the last such block. The DOM always equals what
 * `renderMarkdown(text)` gives: a link reference defined after finished text that uses it
 * rebuilds everything once.
 */
export function markdownStream(target) {
  let committed = 0; // characters of the text whose blocks are built for good
  let references = {}; // the link reference definitions in those characters
  let live = [];
  const reset = () => {
    target.replaceChildren();
    committed = 0;
    references = {};
    live = [];
  };
  return (text) => {
    if (text.length < committed) reset();
    let rest = text.slice(committed);
    let env = { references: { ...references } };
    let tokens = md.parse(rest, env);
    const added = Object.keys(env.references).filter((label) => !(label in references));
    if (committed && added.length && mentions(text.slice(0, committed), added)) {
      reset();
      rest = text;
      env = { references: {} };
      tokens = md.parse(rest, env);
    }
    for (const node of live) node.remove();
    const blocks = buildBlocks(tokens);
    const cut = finishedBlocks(rest.split(LINE_BREAK), blocks);
    const nodes = (list) => list.flatMap((block) => block.nodes);
    live = nodes(blocks.slice(cut ? cut.count : 0));
    target.append(...nodes(blocks));
    if (cut) {
      const chunk = rest.slice(0, lineStart(rest, cut.line));
      if (added.length) references = referencesIn(chunk, references);
      committed += chunk.length;
    }
  };
}

/** How many leading blocks are final, and the line after them; null when none is. */
function finishedBlocks(lines, blocks) {
  const last = lines.length - 1; // the line still being written
  for (let k = blocks.length - 1; k >= 0; k -= 1) {
    const { token } = blocks[k];
    const [start, end] = token.map;
    let gap = end; // the line after the block's last non-blank line
    while (gap > start + 1 && BLANK.test(lines[gap - 1])) gap -= 1;
    const followed = k + 1 < blocks.length;
    const next = followed ? blocks[k + 1].token.map[0] : last;
    if (gap >= last || !lines.slice(gap, next).every((line) => BLANK.test(line))) continue;
    const open = CONTINUABLE.has(token.type) || (token.type === "fence" && !token.meta?.closed);
    if (open && !(followed && next < last)) continue;
    return { count: k + 1, line: next };
  }
  return null;
}

/** Where line `index` of `text` starts. */
function lineStart(text, index) {
  LINE_BREAK.lastIndex = 0;
  let start = 0;
  for (let n = 0; n < index; n += 1) {
    const found = LINE_BREAK.exec(text);
    if (!found) return text.length;
    start = found.index + found[0].length;
  }
  return start;
}

/** Whether `source` may use one of these reference labels (markdown-it's normalised form). */
function mentions(source, labels) {
  const folded = source.toLowerCase().toUpperCase().replace(/\s+/g, " ");
  return labels.some((label) => {
    const words = label.split(" ").map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    return new RegExp(`\\[ ?${words.join(" ")} ?\\]`).test(folded);
  });
}

function referencesIn(text, known) {
  const env = { references: { ...known } };
  md.parse(text, env);
  return env.references;
}
