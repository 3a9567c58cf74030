// Search matches marked in plain text: <mark> elements built as DOM nodes, never as HTML.
import { el } from "./dom.js";

/** The query itself and each of its words (two letters or more), longest first. */
function terms(query) {
  const whole = query.trim();
  if (!whole) return [];
  const words = whole.split(/\s+/).filter((word) => word.length > 1);
  return [...new Set([whole, ...words])].sort((a, b) => b.length - a.length);
}

function pattern(query) {
  const parts = terms(query).map((term) => term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return parts.length ? new RegExp(parts.join("|"), "gi") : null;
}

/** `text` as a list of strings and <mark> nodes, one mark per match of `query`. */
export function highlighted(text, query) {
  const value = String(text ?? "");
  const regex = query ? pattern(query) : null;
  if (!regex) return [value];
  const nodes = [];
  let last = 0;
  for (const match of value.matchAll(regex)) {
    if (match.index > last) nodes.push(value.slice(last, match.index));
    nodes.push(el("mark", { text: match[0] }));
    last = match.index + match[0].length;
  }
  if (last < value.length) nodes.push(value.slice(last));
  return nodes;
}
