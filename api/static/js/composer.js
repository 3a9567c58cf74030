// The message box: Enter sends, Shift+Enter adds a line, Esc stops the run.

export function initComposer({ onSend, onStop }) {
  const form = document.getElementById("composer");
  const input = document.getElementById("message-input");
  const submit = () => {
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    resize(input);
    onSend(text);
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    } else if (event.key === "Escape") {
      onStop();
    }
  });
  input.addEventListener("input", () => resize(input));
  return { focus: () => input.focus() };
}

function resize(input) {
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 240)}px`;
}
