// Two small markdown-it core rules of our own: GitHub task list items ("- [x] done"), and
// whether each code fence was closed (a streaming answer may still be inside one).

export function taskListPlugin(md) {
  md.core.ruler.push("task_lists", taskLists);
}

export function fenceEndPlugin(md) {
  md.core.ruler.push("fence_ends", fenceEnds);
}

const TASK = /^\[([ xX])\](?=\s|$)\s?/;
const CLOSING_FENCE = /^(`{3,}|~{3,})$/;

/** Marks a list item whose text starts with [ ] or [x] (meta.task: "open" or "done") and
 * takes the box off its text. */
function taskLists(state) {
  const { tokens } = state;
  for (let i = 2; i < tokens.length; i += 1) {
    const inline = tokens[i];
    if (inline.type !== "inline" || tokens[i - 1].type !== "paragraph_open") continue;
    if (tokens[i - 2].type !== "list_item_open") continue;
    const first = inline.children?.[0];
    const match = first?.type === "text" ? TASK.exec(first.content) : null;
    if (!match) continue;
    tokens[i - 2].meta = { ...tokens[i - 2].meta, task: match[1] === " " ? "open" : "done" };
    first.content = first.content.slice(match[0].length);
  }
}

/** Sets meta.closed on every fence: whether its last line is a closing fence. */
function fenceEnds(state) {
  let lines = null;
  for (const token of state.tokens) {
    if (token.type !== "fence") continue;
    lines ??= state.src.split("\n");
    const [start, end] = token.map;
    const last = end - 1 > start ? lines[end - 1].replace(/^[\s>]*/, "").trimEnd() : "";
    const closed = CLOSING_FENCE.test(last) && last[0] === token.markup[0]
      && last.length >= token.markup.length;
    token.meta = { ...token.meta, closed };
  }
}
