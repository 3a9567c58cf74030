// A markdown-it plugin that finds TeX math; math.js typesets it. It only parses: it adds
// `math_inline` tokens (meta.display for `$$…$$` inside a line) and `math_block` tokens
// (meta.closed, meta.source), and renders nothing itself.
//
// Delimiters, as in Pandoc and the common chat apps:
//   $…$      inline. The opening $ is followed by a non-space and not preceded by a letter or
//            digit; the closing $ follows a non-space and is not followed by a digit. So
//            "costs $5 and $10" stays text. \$ is a plain dollar sign.
//   \(…\)    inline.
//   $$…$$    display: on lines of their own, on one line, or inside a paragraph's line.
//   \[ … \]  display, on lines of their own (or `\[ x \]` as the whole line).
// A display block whose closing delimiter has not come yet (a streaming answer) ends at the
// first blank line and is shown as its source.

const DOLLAR = 0x24;
const BACKSLASH = 0x5c;
const WORD = /[\p{L}\p{N}]/u;
const SPACE = /\s/;
const DIGIT = /[0-9]/;

export function mathPlugin(md) {
  md.inline.ruler.before("escape", "math_inline", inlineMath);
  md.block.ruler.before("fence", "math_block", blockMath, {
    alt: ["paragraph", "reference", "blockquote", "list"],
  });
}

function inlineMath(state, silent) {
  const { src, pos } = state;
  const code = src.charCodeAt(pos);
  if (code === DOLLAR) {
    return src.charCodeAt(pos + 1) === DOLLAR ? doubleDollar(state, silent) : singleDollar(state, silent);
  }
  if (code === BACKSLASH && src[pos + 1] === "(") return delimited(state, silent, "\\(", "\\)", false);
  return false;
}

function singleDollar(state, silent) {
  const { src, pos } = state;
  const next = src[pos + 1];
  if (next === undefined || SPACE.test(next) || (pos > 0 && WORD.test(src[pos - 1]))) return false;
  // As in TeX, the formula ends at the next unescaped $: if that one cannot close, none does.
  state.mathDollars ??= dollarSigns(src);
  const close = state.mathDollars.find(pos + 1);
  if (!close || !close.closes || close.at >= state.posMax) return false;
  if (!silent) push(state, src.slice(pos + 1, close.at), false, "$");
  state.pos = close.at + 1;
  return true;
}

function doubleDollar(state, silent) {
  const { pos } = state;
  if (delimited(state, silent, "$$", "$$", true)) return true;
  if (!silent) state.pending += "$$"; // not math: both signs are text, not a $ opener
  state.pos = pos + 2;
  return true;
}

/** Math between `open` and the next unescaped `close` on the same inline run. */
function delimited(state, silent, open, close, display) {
  const { src, pos } = state;
  const start = pos + open.length;
  // Where a search for `close` last found none: no later one can find one either, so a run
  // full of unclosed openers is scanned once, not once per opener.
  state.mathUnclosed ??= {};
  if (start >= (state.mathUnclosed[close] ?? Infinity)) return false;
  let end = src.indexOf(close, start);
  while (end !== -1 && escaped(src, end)) end = src.indexOf(close, end + 1);
  if (end === -1) {
    state.mathUnclosed[close] = Math.min(start, state.mathUnclosed[close] ?? Infinity);
    return false;
  }
  if (end + close.length > state.posMax || !src.slice(start, end).trim()) return false;
  if (!silent) push(state, src.slice(start, end), display, open);
  state.pos = end + close.length;
  return true;
}

function push(state, tex, display, markup) {
  const token = state.push("math_inline", "math", 0);
  token.content = tex;
  token.markup = markup;
  token.meta = { display };
}

/** Whether the character at `index` is escaped by an odd run of backslashes before it. */
function escaped(src, index) {
  let count = 0;
  for (let i = index - 1; i >= 0 && src.charCodeAt(i) === BACKSLASH; i -= 1) count += 1;
  return count % 2 === 1;
}

/** The unescaped $ signs of an inline run and whether each can close a formula, found once
 * per run (so a line full of prices costs one scan, not one per dollar sign). */
function dollarSigns(src) {
  const signs = [];
  for (let i = src.indexOf("$"); i !== -1; i = src.indexOf("$", i + 1)) {
    if (escaped(src, i)) continue;
    const closes = i > 0 && !SPACE.test(src[i - 1]) && !DIGIT.test(src[i + 1] ?? "");
    signs.push({ at: i, closes });
  }
  return { find: (from) => signs[firstAtLeast(signs, from)] };
}

/** The index of the first sign at or after `value` (signs.length when there is none). */
function firstAtLeast(signs, value) {
  let low = 0;
  let high = signs.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (signs[mid].at < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

function blockMath(state, startLine, endLine, silent) {
  if (state.sCount[startLine] - state.blkIndent >= 4) return false; // indented code
  const first = lineText(state, startLine).trimEnd();
  const open = first.startsWith("$$") ? "$$" : first.startsWith("\\[") ? "\\[" : null;
  if (!open) return false;
  const close = open === "$$" ? "$$" : "\\]";
  const rest = first.slice(2);
  let closed = false;
  let body = [];
  let next = startLine + 1;
  if (rest.includes(close)) {
    // One line: the closing delimiter must end it (`$$a$$ and $$b$$` is inline math).
    if (!rest.endsWith(close) || rest.indexOf(close) !== rest.length - close.length) return false;
    body = [rest.slice(0, -close.length)];
    closed = true;
  } else {
    if (open === "\\[" && rest.trim()) return false; // `\[1\] …` is text, not math
    if (rest.trim()) body.push(rest);
    for (; next < endLine; next += 1) {
      if (state.isEmpty(next) || state.sCount[next] < state.blkIndent) break;
      const text = lineText(state, next).trimEnd();
      if (text.endsWith(close) && !escaped(text, text.length - close.length)) {
        body.push(text.slice(0, -close.length));
        closed = true;
        next += 1;
        break;
      }
      body.push(text);
    }
  }
  if (!body.join("").trim() && closed) return false; // `$$$$` is not a formula
  if (silent) return true;
  const token = state.push("math_block", "math", 0);
  token.block = true;
  token.markup = open;
  token.content = body.join("\n").trim();
  token.map = [startLine, next];
  token.meta = { closed, source: state.getLines(startLine, next, state.blkIndent, false) };
  state.line = next;
  return true;
}

function lineText(state, line) {
  return state.src.slice(state.bMarks[line] + state.tShift[line], state.eMarks[line]);
}
