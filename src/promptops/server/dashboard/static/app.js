// PromptOps dashboard: copy buttons. Plain JavaScript, no dependencies; the editor has its
// own script (editor.js). Every page works without them.
"use strict";

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "sr-only";
  document.body.appendChild(area);
  area.select();
  try {
    document.execCommand("copy");
  } finally {
    document.body.removeChild(area);
  }
  return Promise.resolve();
}

function setupCopyButtons() {
  document.querySelectorAll("button[data-copy]").forEach((button) => {
    button.addEventListener("click", () => {
      const source = document.getElementById(button.dataset.copy);
      const status = button.parentElement.querySelector(".copy-status");
      copyText(source.textContent.trim()).then(
        () => { if (status) status.textContent = "Copied."; },
        () => { if (status) status.textContent = "Could not copy: select the text and copy it."; },
      );
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setupCopyButtons();
});
