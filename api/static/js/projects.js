// The Projects section of the sidebar: the project list with colour dots, filtering the
// conversation list by one project, and creating, editing and deleting projects.
import { get, post } from "./api.js";
import { clear, el, notify } from "./dom.js";
import { colorDot, projectDialog } from "./project-dialogs.js";
import { confirmDialog } from "./prompt-dialog.js";

let projects = [];
let activeId = null;
let listNode;
let hooks = {};

/** `hooks.filterChanged()` when the filter changes; `hooks.projectsChanged()` on any edit. */
export function initProjects(options) {
  hooks = options;
  listNode = document.getElementById("project-list");
  document.getElementById("new-project").addEventListener("click", createProject);
}

export const allProjects = () => projects;
export const activeProjectId = () => activeId;
export const projectById = (id) => (id ? projects.find((p) => p.project_id === id) || null : null);

export async function loadProjects() {
  try {
    projects = (await get("/api/projects")).projects || [];
  } catch {
    return; // The notice explains; the list keeps what it had.
  }
  if (activeId && !projectById(activeId)) setFilter(null);
  render();
}

function setFilter(id) {
  activeId = id;
  render();
  hooks.filterChanged?.();
}

function render() {
  clear(listNode);
  listNode.append(el("li", {}, filterButton("All conversations", null)));
  for (const project of projects) {
    const edit = el("button", {
      type: "button", class: "icon project-edit", text: "⋯", title: "Edit project",
      "aria-label": `Edit project ${project.name}`, onclick: () => editProject(project.project_id),
    });
    listNode.append(el("li", { "data-project": project.project_id }, filterButton(project.name, project), edit));
  }
}

function filterButton(label, project) {
  const id = project?.project_id || null;
  return el("button", {
    type: "button", class: "project-filter", "aria-pressed": String(activeId === id),
    onclick: () => setFilter(activeId === id ? null : id),
  }, project ? colorDot(project.color) : null, el("span", { class: "project-name", text: label }));
}

const focusNew = () => document.getElementById("new-project");
const focusEdit = (id) => () => listNode.querySelector(`[data-project="${id}"] .project-edit`) || focusNew();

async function createProject() {
  const answer = await projectDialog(null, { returnFocus: focusNew });
  if (!answer) return;
  try {
    const { project } = await post("/api/projects/create", answer);
    notify(`Project "${project.name}" created`);
    await loadProjects();
    hooks.projectsChanged?.();
  } catch {
    // Shown by the notice.
  }
}

async function editProject(id) {
  const project = projectById(id);
  if (!project) return;
  const answer = await projectDialog(project, { returnFocus: focusEdit(id) });
  if (answer === "delete") await deleteProject(project);
  else if (answer) await saveProject(project, answer);
}

async function saveProject(project, answer) {
  try {
    await post("/api/projects/rename", { project_id: project.project_id, ...answer });
    await loadProjects();
    hooks.projectsChanged?.();
  } catch {
    // Shown by the notice.
  }
}

async function deleteProject(project) {
  const sure = await confirmDialog({
    title: "Delete project",
    message: `Delete the project "${project.name}"? Its conversations stay, without a project.`,
    confirmLabel: "Delete project",
    returnFocus: focusNew,
  });
  if (!sure) return;
  try {
    await post("/api/projects/delete", { project_id: project.project_id });
    notify(`Project "${project.name}" deleted`);
    if (activeId === project.project_id) activeId = null;
    await loadProjects();
    hooks.filterChanged?.();
  } catch {
    // Shown by the notice.
  }
}
