// A button that copies a text and says, for a moment, whether that worked.
import { el } from "./dom.js";

const FEEDBACK_MS = 1500;

export function copyButton(text, { className, ariaLabel }) {
  const button = el("button", { type: "button", class: className, text: "Copy", "aria-label": ariaLabel });
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Copy failed"; // no clipboard access, e.g. a plain-HTTP address
    }
    setTimeout(() => { button.textContent = "Copy"; }, FEEDBACK_MS);
  });
  return button;
}
