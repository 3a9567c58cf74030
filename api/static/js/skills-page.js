// The Skills page of the settings: every skill with its description, tags and on/off switch,
// a search over names, descriptions and tags, import of a zip (asking before it replaces a
// skill), export and delete. A skill opens in skill-view.js, to read it rendered or edit it.
import { get, post, withQuery } from "./api.js";
import { clear, el, showResult } from "./dom.js";
import { pageDialog } from "./page-dialog.js";
import { confirmDialog } from "./prompt-dialog.js";
import { skillView } from "./skill-view.js";

let page;
let listPage;
let list;
let search;
let count;
let result;
let view;
let skills = [];
let broken = [];

export function initSkillsPage() {
  const button = document.getElementById("skills-open");
  button.addEventListener("click", () => {
    page ??= build();
    page.open(button);
  });
}

function build() {
  const built = pageDialog({ id: "skills-dialog", title: "Skills", onOpen: () => { showList(); load(); } });
  search = el("input", { id: "skills-search", type: "search", placeholder: "Search skills", autocomplete: "off" });
  search.addEventListener("input", render);
  const file = el("input", { id: "skills-import-file", type: "file", accept: "application/zip,.zip", class: "visually-hidden" });
  file.addEventListener("change", () => {
    const chosen = file.files?.[0];
    file.value = ""; // so choosing the same file again fires a change
    if (chosen) importZip(chosen);
  });
  const create = el("button", { type: "button", text: "New skill", onclick: () => openView(null) });
  count = el("p", { id: "skills-count", class: "small muted", role: "status" });
  result = el("p", { id: "skills-result", class: "result", role: "status" });
  list = el("ul", { id: "skill-list", class: "skill-list" });
  listPage = el("div", { id: "skills-list-page" },
    el("p", { class: "small muted", text: "Saved procedures the agent follows when a task calls for one. A skill turned off stays here but is left out of new conversations and of /commands." }),
    el("div", { class: "skills-tools" },
      el("label", { for: "skills-search", class: "visually-hidden", text: "Search skills" }), search,
      create, file, el("label", { for: "skills-import-file", class: "file-button", text: "Import a zip…" })),
    count, result, list);
  view = skillView({ back: (name) => { showList(); focusSkill(name); }, saved: load });
  built.body.append(listPage, view.node);
  return built;
}

async function load() {
  try {
    const data = await get("/api/skills", undefined, { quiet: true });
    skills = data.skills;
    broken = data.broken;
    render();
  } catch (err) {
    showResult(count, `Could not load the skills: ${err.message}`, "error");
  }
}

function matches(skill, words) {
  const text = [skill.name, skill.description, ...skill.tags].join(" ").toLowerCase();
  return words.every((word) => text.includes(word));
}

/** The list as the search narrows it, and a line saying how many show. */
function render() {
  const query = search.value.trim();
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const shown = skills.filter((skill) => matches(skill, words));
  const off = skills.filter((skill) => !skill.enabled).length;
  clear(list).append(...shown.map(item), ...broken.filter((b) => matches({ ...b, description: b.error, tags: [] }, words)).map(brokenItem));
  if (words.length && !shown.length) count.textContent = `No skill matches “${query}”.`;
  else if (words.length) count.textContent = `${shown.length} of ${skills.length} skills match.`;
  else count.textContent = `${skills.length} skill${skills.length === 1 ? "" : "s"}${off ? `, ${off} turned off` : ""}.`;
}

function item(skill) {
  const { name } = skill;
  const toggle = el("input", { type: "checkbox", checked: skill.enabled });
  toggle.addEventListener("change", () => setEnabled(skill, toggle));
  const files = skill.files.length;
  return el("li", { class: skill.enabled ? "skill-item" : "skill-item is-off", "data-name": name },
    el("div", { class: "skill-head" },
      el("h3", { class: "skill-name", text: name }),
      skill.version ? el("span", { class: "skill-version", text: `v${skill.version}` }) : null,
      skill.enabled ? null : el("span", { class: "skill-state", text: "Off" })),
    el("p", { class: "skill-description", text: skill.description }),
    skill.tags.length ? el("p", { class: "skill-tags" }, ...skill.tags.map((tag) => el("span", { class: "skill-tag", text: tag }))) : null,
    el("p", { class: "small muted", text: files ? `${files} file${files === 1 ? "" : "s"} besides SKILL.md` : "No other files" }),
    el("div", { class: "skill-actions" },
      el("label", { class: "switch" }, toggle, el("span", { text: "Use" }), el("span", { class: "visually-hidden", text: ` ${name}` })),
      el("button", { type: "button", text: "View", "aria-label": `View ${name}`, onclick: () => openView(name) }),
      el("a", { class: "file-button", href: withQuery("/api/skill/export", { name }), download: `${name}.zip`, text: "Export", "aria-label": `Export ${name}` }),
      deleteButton(name)));
}

function brokenItem({ name, error }) {
  return el("li", { class: "skill-item is-broken", "data-name": name },
    el("div", { class: "skill-head" }, el("h3", { class: "skill-name", text: name }), el("span", { class: "skill-state", text: "Does not load" })),
    el("p", { class: "skill-error", text: error }),
    el("div", { class: "skill-actions" },
      el("button", { type: "button", text: "Edit", "aria-label": `Edit ${name}`, onclick: () => openView(name, { edit: true }) }),
      deleteButton(name)));
}

function deleteButton(name) {
  const button = el("button", { type: "button", class: "danger", text: "Delete…", "aria-label": `Delete ${name}…` });
  button.addEventListener("click", () => remove(name, button));
  return button;
}

async function setEnabled(skill, toggle) {
  toggle.disabled = true;
  try {
    const reply = await post("/api/skill/enable", { name: skill.name, enabled: toggle.checked }, { quiet: true });
    skill.enabled = reply.enabled;
    showResult(result, `${skill.name} is ${reply.enabled ? "on" : "off"}${reply.enabled ? "" : ": new conversations leave it out"}.`, "ok");
    render();
    list.querySelector(`li[data-name="${CSS.escape(skill.name)}"] input[type=checkbox]`)?.focus();
  } catch (err) {
    toggle.checked = !toggle.checked;
    toggle.disabled = false;
    showResult(result, `Not changed: ${err.message}`, "error");
  }
}

async function remove(name, button) {
  const sure = await confirmDialog({
    title: `Delete ${name}?`,
    message: `The skill's folder and every file in it are removed. Export it first to keep a copy.`,
    confirmLabel: "Delete",
    returnFocus: () => (button.isConnected ? button : search),
  });
  if (!sure) return;
  try {
    await post("/api/skill/delete", { name }, { quiet: true });
    showResult(result, `Deleted ${name}.`, "ok");
    await load();
    search.focus();
  } catch (err) {
    showResult(result, `Not deleted: ${err.message}`, "error");
  }
}

/** Send the zip; when skills of the same names are installed, ask, then send it again to
 * replace them. */
async function importZip(file, overwrite = false) {
  showResult(result, `Importing ${file.name}…`);
  let reply;
  try {
    const zip = new Blob([file], { type: "application/zip" });
    reply = await post(withQuery("/api/skills/import", overwrite ? { overwrite: 1 } : null), zip, { quiet: true });
  } catch (err) {
    showResult(result, `Not imported: ${err.message}`, "error");
    return;
  }
  await load();
  if (reply.existing.length && !overwrite) {
    const names = reply.existing.join(", ");
    const sure = await confirmDialog({
      title: "Replace skills?",
      message: `Installed already: ${names}. Replace ${reply.existing.length === 1 ? "it" : "them"} with the zip's (every old file goes)?`,
      confirmLabel: "Replace",
      returnFocus: () => search,
    });
    if (sure) return importZip(file, true);
  }
  showResult(result, describe(reply), reply.imported.length ? "ok" : "error");
}

function describe({ imported, skipped }) {
  const parts = [imported.length ? `Imported ${imported.join(", ")}.` : "Nothing was imported."];
  for (const { entry, reason } of skipped) parts.push(`Skipped ${entry}: ${reason}.`);
  return parts.join(" ");
}

function showList() {
  view.hide();
  listPage.hidden = false;
}

function openView(name, options = {}) {
  showResult(result, "");
  listPage.hidden = true;
  view.show(name, options);
}

/** After the view closes, focus goes back to the skill's View (or Edit) button. */
function focusSkill(name) {
  const row = name && list.querySelector(`li[data-name="${CSS.escape(name)}"]`);
  (row?.querySelector("button") || search)?.focus();
}
