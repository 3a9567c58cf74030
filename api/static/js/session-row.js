// One row of the conversation list: the title (search matches marked), its project's colour,
// archived and running badges, where a search matched, and the button of its menu.
import { el } from "./dom.js";
import { highlighted } from "./search-marks.js";
import { colorDot } from "./project-dialogs.js";
import { projectById } from "./projects.js";

/** Everything a row shows: a row whose signature is unchanged is reused as it is. */
export function rowSignature(session, query) {
  const project = projectById(session.project_id);
  return JSON.stringify([
    session.title, session.pinned, session.archived, session.is_streaming,
    project?.name, project?.color, session.match_type, session.snippet, query, session.source,
  ]);
}

const SURFACES = { tui: "Terminal", cli: "CLI", telegram: "Telegram", webhook: "Webhook", cron: "Scheduled" };

/** Where a conversation of another surface was started, for its badge. */
function surfaceName(source) {
  return SURFACES[source] || source || "Elsewhere";
}

/** `onOpen(id)` opens the session; `onMenu(button, item, id)` toggles its menu. */
export function sessionRow(session, query, { onOpen, onMenu }) {
  const title = session.title || "Untitled";
  const project = projectById(session.project_id);
  const open = el("button", { type: "button", class: "session-open", title },
    el("span", { class: "session-line" },
      project ? colorDot(project.color) : null,
      project ? el("span", { class: "visually-hidden", text: `Project ${project.name}: ` }) : null,
      el("span", { class: "session-title" }, highlighted(title, query)),
      session.archived ? el("span", { class: "badge", text: "Archived" }) : null,
      session.is_cli_session ? el("span", { class: "badge", text: surfaceName(session.source) }) : null,
      session.is_streaming ? el("span", { class: "live-dot", "aria-label": "running", title: "Running" }) : null),
    matchLine(session, query));
  if (project) open.title = `${title} (${project.name})`;
  open.addEventListener("click", () => onOpen(session.session_id));
  const menuButton = el("button", {
    type: "button", class: "icon session-menu-button", text: "⋯",
    "aria-label": `Actions for ${title}`, "aria-haspopup": "menu", "aria-expanded": "false",
  });
  const item = el("li", { class: session.archived ? "session is-archived" : "session", "data-id": session.session_id }, open, menuButton);
  menuButton.addEventListener("click", (event) => {
    event.stopPropagation();
    onMenu(menuButton, item, session.session_id);
  });
  return item;
}

/** For search results: whether the title or the messages matched, and the message snippet. */
function matchLine(session, query) {
  if (!session.match_type) return null;
  const where = session.match_type === "title" ? "Title match" : "Message match";
  return el("span", { class: "session-match" },
    el("span", { class: "match-type", text: where }),
    session.snippet ? el("span", { class: "session-snippet" }, highlighted(session.snippet, query)) : null);
}
