// Small DOM helpers: build elements from data (text only, never HTML) and show notices.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

let noticeTimer = null;

/** A dialog's status line: `kind` is "ok", "error" or none (in progress). */
export function showResult(box, text, kind = "") {
  box.textContent = text;
  box.classList.toggle("is-error", kind === "error");
  box.classList.toggle("is-ok", kind === "ok");
}

/** A short message in the notice area; kind is "info" or "error". */
export function notify(message, kind = "info") {
  const area = document.getElementById("notice");
  if (!area) return;
  area.textContent = message;
  area.dataset.kind = kind;
  area.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { area.hidden = true; }, kind === "error" ? 8000 : 3000);
}
