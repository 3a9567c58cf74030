// One skill in the Skills page: its instructions rendered as Markdown (front matter left
// out), its files, and SKILL.md in a text box to edit and save, the server's parse error shown
// when it refuses. Also the form for a new skill. The skill's text is untrusted Markdown, so it
// is rendered by markdown.js as answers are: raw HTML off, links checked.
import { get, post } from "./api.js";
import { clear, el, showResult } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

const FRONT_MATTER = /^---\r?\n[\s\S]*?\r?\n---[ \t]*(\r?\n|$)/;
const TEMPLATE = "---\nname: my-skill\ndescription: One line saying when to use it.\n---\n\n1. The first step.\n";

/** `back(name)` returns to the list; `saved()` runs after a skill was saved. */
export function skillView({ back, saved }) {
  let current = null; // the skill shown; null for a new one
  const title = el("h3", { id: "skill-view-title", tabindex: -1 });
  const description = el("p", { class: "skill-description" });
  const tags = el("p", { class: "skill-tags" });
  const error = el("p", { class: "skill-error", hidden: true });
  const body = el("div", { class: "bubble-body skill-body" });
  const files = el("p", { class: "skill-files small muted" });
  const edit = el("button", { type: "button", text: "Edit", onclick: () => openEditor() });
  const reading = el("div", { class: "skill-reading" }, description, tags, body, files, el("div", { class: "dialog-row" }, edit));
  const nameInput = el("input", { id: "skill-new-name", name: "name", autocomplete: "off", pattern: "[a-z0-9][a-z0-9\\-]{0,63}", "aria-describedby": "skill-new-name-hint" });
  const nameField = el("div", { class: "stack" },
    el("label", { for: "skill-new-name", text: "Name" }), nameInput,
    el("p", { id: "skill-new-name-hint", class: "small muted", text: "Lowercase letters, digits and dashes; the front matter's name must be the same." }));
  const sourceLabel = el("label", { for: "skill-source" });
  const source = el("textarea", { id: "skill-source", class: "skill-source", rows: 14, spellcheck: false });
  const save = el("button", { type: "submit", class: "primary", text: "Save" });
  const cancel = el("button", { type: "button", text: "Cancel", onclick: () => closeEditor() });
  const editor = el("form", { class: "skill-editor stack", hidden: true, novalidate: true }, nameField, sourceLabel, source, el("div", { class: "dialog-row" }, save, cancel));
  const result = el("p", { id: "skill-view-result", class: "result", role: "status" });
  const node = el("div", { id: "skill-view", hidden: true },
    el("button", { type: "button", class: "link", text: "Back to the list", onclick: () => { hide(); back(current); } }),
    title, error, reading, editor, result);
  editor.addEventListener("submit", (event) => { event.preventDefault(); store(); });

  function hide() {
    node.hidden = true;
  }

  async function show(name, { edit: editing = false } = {}) {
    current = name;
    node.hidden = false;
    showResult(result, "");
    if (name === null) {
      title.textContent = "New skill";
      error.hidden = true;
      reading.hidden = true;
      openEditor(TEMPLATE);
      nameInput.focus();
      return;
    }
    title.textContent = name;
    reading.hidden = true;
    editor.hidden = true;
    title.focus();
    const skill = await fetchSkill(name);
    if (skill && (editing || skill.error)) openEditor();
  }

  /** Read the skill from the server and show it; null (after saying why) when it fails. */
  async function fetchSkill(name) {
    try {
      const skill = await get("/api/skill", { name }, { quiet: true });
      render(skill);
      return skill;
    } catch (err) {
      showResult(result, `Could not load ${name}: ${err.message}`, "error");
      return null;
    }
  }

  function render(skill) {
    title.textContent = skill.name;
    source.value = skill.content;
    error.hidden = !skill.error;
    error.textContent = skill.error ? `SKILL.md does not load: ${skill.error}` : "";
    description.textContent = skill.description;
    clear(tags).append(...skill.tags.map((tag) => el("span", { class: "skill-tag", text: tag })));
    tags.hidden = !skill.tags.length;
    clear(body).append(renderMarkdown(skill.content.replace(FRONT_MATTER, "")));
    files.textContent = skill.files.length ? `Files: ${skill.files.join(", ")}` : "No other files.";
    reading.hidden = Boolean(skill.error);
  }

  function openEditor(text) {
    nameField.hidden = current !== null;
    if (text !== undefined) source.value = text;
    sourceLabel.textContent = current === null ? "SKILL.md of the new skill" : `SKILL.md of ${current}`;
    editor.hidden = false;
    reading.hidden = true;
    if (current !== null) {
      source.focus();
      source.setSelectionRange(0, 0); // start at the front matter, not the end
      source.scrollTop = 0;
    }
  }

  function closeEditor() {
    showResult(result, "");
    if (current === null) {
      hide();
      back(null);
      return;
    }
    editor.hidden = true;
    fetchSkill(current).then(() => title.focus());
  }

  async function store() {
    const name = current ?? nameInput.value.trim();
    if (!name) {
      showResult(result, "Not saved: give the skill a name.", "error");
      nameInput.focus();
      return;
    }
    save.disabled = true;
    showResult(result, "Saving…");
    try {
      await post("/api/skill/save", { name, content: source.value }, { quiet: true });
    } catch (err) {
      showResult(result, `Not saved: ${err.message}`, "error");
      return;
    } finally {
      save.disabled = false;
    }
    current = name;
    editor.hidden = true;
    await fetchSkill(name);
    showResult(result, "Saved.", "ok");
    title.focus();
    saved();
  }

  return { node, show, hide };
}
