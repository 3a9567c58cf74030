// The project dialogs: create or edit a project (name and a colour from a small palette),
// and choose the project a session moves to.
import { el } from "./dom.js";
import { formDialog, requireText } from "./prompt-dialog.js";

export const PALETTE = [
  ["Violet", "#7c6cf0"], ["Blue", "#2f6fde"], ["Teal", "#0f9d8a"], ["Green", "#3a9d3a"],
  ["Amber", "#c9930c"], ["Orange", "#e0702a"], ["Red", "#d64545"], ["Pink", "#c2459b"], ["Grey", "#6b7280"],
];
const COLOR = /^#[0-9a-fA-F]{3,8}$/;
let counter = 0;

/** A small dot in a project's colour; the colour has passed the server's #hex check. */
export function colorDot(color, extraClass = "") {
  const dot = el("span", { class: `project-dot ${extraClass}`.trim(), "aria-hidden": "true" });
  if (COLOR.test(color || "")) dot.style.setProperty("--project-color", color);
  return dot;
}

/** Resolves {name, color}, "delete" (edit only), or null when cancelled. */
export function projectDialog(project = null, { returnFocus } = {}) {
  const id = `project-name-${++counter}`;
  const name = el("input", { id, name: "name", type: "text", maxlength: 80, required: true, autocomplete: "off", value: project?.name || "" });
  const current = project?.color || PALETTE[0][1];
  const choices = PALETTE.some(([, color]) => color.toLowerCase() === current.toLowerCase())
    ? PALETTE : [...PALETTE, ["Current colour", current]];
  const swatches = el("fieldset", { class: "swatches" }, el("legend", { text: "Colour" }),
    ...choices.map(([label, color]) => swatch(label, color, color.toLowerCase() === current.toLowerCase())));
  return formDialog({
    title: project ? "Edit project" : "New project",
    submitLabel: project ? "Save" : "Create",
    returnFocus,
    fields: [el("label", { for: id, text: "Name" }), name, swatches],
    extra: project ? [{ label: "Delete project…", value: "delete", class: "danger" }] : [],
    read: (form) => {
      const text = requireText(name, "A project needs a name.");
      return text === undefined ? undefined : { name: text, color: form.elements.color.value };
    },
  });
}

function swatch(label, color, checked) {
  return el("label", { class: "swatch", title: label },
    el("input", { type: "radio", name: "color", value: color, checked }),
    colorDot(color, "swatch-dot"),
    el("span", { class: "visually-hidden", text: label }));
}

/** Resolves {projectId} (null for no project), or null when cancelled. */
export function moveDialog(session, projects, { returnFocus } = {}) {
  const option = (label, value, color) => el("label", { class: "radio" },
    el("input", { type: "radio", name: "project", value, checked: (session.project_id || "") === value }),
    color ? colorDot(color) : null, label);
  const list = el("fieldset", { class: "move-options" }, el("legend", { text: `Move "${session.title || "Untitled"}" to` }),
    option("No project", ""),
    ...projects.map((p) => option(p.name, p.project_id, p.color)));
  return formDialog({
    title: "Move to project",
    submitLabel: "Move",
    returnFocus,
    fields: projects.length ? [list] : [list, el("p", { class: "muted", text: "No projects yet: create one under Projects." })],
    read: (form) => ({ projectId: form.elements.project.value || null }),
  });
}
