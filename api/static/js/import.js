// Import: a JSON export chosen with the sidebar's file input becomes a new session, which opens;
// a zip export (every conversation, with their files) comes back whole, and the first opens.
import { post } from "./api.js";
import { notify } from "./dom.js";

/** `imported(session)` receives the stored session (compact, with its messages). */
export function initImport({ imported }) {
  const input = document.getElementById("import-file");
  input.addEventListener("change", async () => {
    const file = input.files?.[0];
    input.value = ""; // so choosing the same file again fires a change
    if (!file) return;
    if (isZip(file)) {
      await importArchive(file, imported);
      return;
    }
    const body = await readExport(file);
    if (!body) return;
    try {
      const { session } = await post("/api/session/import", body, { quiet: true });
      notify(`Imported "${session.title || "Untitled"}"`);
      await imported(session);
    } catch (err) {
      notify(`Could not import ${file.name}: ${err.message}`, "error");
    }
  });
}

function isZip(file) {
  return /\.zip$/i.test(file.name) || /zip/.test(file.type);
}

async function importArchive(file, imported) {
  try {
    const zip = new Blob([file], { type: "application/zip" });
    const reply = await post("/api/sessions/import", zip, { quiet: true });
    const skipped = reply.skipped.length ? `; ${reply.skipped.length} entries skipped` : "";
    notify(`Imported ${reply.imported} conversations and ${reply.files} files${skipped}`);
    if (reply.sessions.length) await imported({ session_id: reply.sessions[0] });
  } catch (err) {
    notify(`Could not import ${file.name}: ${err.message}`, "error");
  }
}

/**
 * The import body from the file, or null after saying why it is not a conversation export.
 * The export's workspace is left out: it names a folder on the machine that wrote it, and
 * the import lands in the default workspace instead.
 */
async function readExport(file) {
  let data;
  try {
    data = JSON.parse(await file.text());
  } catch {
    notify(`Could not import ${file.name}: it is not a JSON file.`, "error");
    return null;
  }
  if (!data || typeof data !== "object" || !Array.isArray(data.messages)) {
    notify(`Could not import ${file.name}: it has no "messages" list, so it is not a conversation export.`, "error");
    return null;
  }
  const { title, messages, model, tool_calls: toolCalls } = data;
  return { title: typeof title === "string" ? title : null, messages, model: typeof model === "string" ? model : null,
    tool_calls: Array.isArray(toolCalls) ? toolCalls : null };
}
