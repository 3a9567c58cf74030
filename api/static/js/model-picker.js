// The model of the open conversation, picked in the chat header. It goes with each message and
// the server keeps it with the conversation; "Default" follows the model chosen in Settings.
import { get } from "./api.js";
import { clear, el } from "./dom.js";

let select = null;
let shownFor; // the conversation the picker shows (null: a new chat)
let ready = false; // the picker shows that conversation's model, not a placeholder
let changed = false; // picked by hand since: redrawing the same conversation keeps the pick
let catalogue = null;
let vision = {}; // model name → whether it sees images, as GET /api/models says
let defaultModel = "";

/** Fired on the picker once it shows a conversation's model (a pick by hand fires "change"). */
export const MODEL_SHOWN = "modelshown";

export function initModelPicker() {
  select = document.getElementById("chat-model");
  // A pick by hand is what the next message goes to, even one made while the picker redraws
  // (which then keeps the pick and would otherwise leave the picker "not ready").
  select.addEventListener("change", () => { changed = true; ready = true; });
}

/** A model entry of `GET /api/models`, which providers give as a name or an object. */
export function modelName(entry) {
  return typeof entry === "string" ? entry : entry?.id || entry?.name || "";
}

/** Shows `model` ("" for the default) as the model of `sessionId`. */
export async function showModel(sessionId, model) {
  if (sessionId === shownFor && changed) return;
  shownFor = sessionId;
  changed = false;
  ready = false;
  const { current, models, sees } = await listed();
  if (shownFor !== sessionId || changed) return; // another conversation was opened meanwhile
  vision = sees;
  defaultModel = current;
  const names = new Set(models);
  if (model) names.add(model);
  clear(select).append(
    el("option", { value: "", text: current ? `Default (${current})` : "Default model" }),
    ...[...names].map((name) => el("option", { value: name, text: name })),
  );
  select.value = model || "";
  ready = true;
  select.dispatchEvent(new Event(MODEL_SHOWN));
}

/** The conversation shown got a new id (a new chat's first message, a compression): a pick stays. */
export function modelFollows(fromId, toId) {
  if (shownFor === fromId) shownFor = toId;
}

/** Whether the model the next message goes to sees images; null while that is not known. */
export function chosenModelSeesImages() {
  const name = (ready && select.value) || defaultModel;
  return typeof vision[name] === "boolean" ? vision[name] : null;
}

/** The model to send: a name, "" for the default, or undefined to keep the stored one. */
export function chosenModel() {
  return ready ? select.value : undefined;
}

/** Settings were saved: the default and the provider's list may have changed. */
export function forgetModels() {
  catalogue = null;
  const sessionId = shownFor;
  const model = select.value;
  shownFor = undefined;
  showModel(sessionId, model);
}

function listed() {
  catalogue ??= get("/api/models", undefined, { quiet: true })
    .then((data) => ({
      current: data.current || "",
      models: (data.models || []).map(modelName).filter(Boolean),
      sees: data.vision || {},
    }))
    .catch(() => {
      catalogue = null; // the provider may answer next time
      return { current: "", models: [], sees: {} };
    });
  return catalogue;
}
