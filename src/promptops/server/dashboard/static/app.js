// PromptOps dashboard: copy buttons and the editor's check-as-you-type. Plain JavaScript,
// no dependencies. Every page works without it (the editor's "Preview" button posts the
// form and the server renders the same result).
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

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function setupEditor() {
  const form = document.getElementById("editor");
  if (!form) return;
  const url = form.dataset.validateUrl;
  const csrf = form.dataset.csrf;
  const fields = ["system_prompt", "user_template"];
  const samplesBox = document.getElementById("samples");
  let inFlight = null;

  function samples() {
    const out = {};
    samplesBox.querySelectorAll("input[data-var]").forEach((input) => {
      out[input.dataset.var] = input.value;
    });
    return out;
  }

  function showError(name, message) {
    const input = document.getElementById("f-" + name);
    const error = document.getElementById(name + "-error");
    if (!input || !error) return;
    error.textContent = message || "";
    error.hidden = !message;
    if (message) {
      input.setAttribute("aria-invalid", "true");
      input.parentElement.classList.add("has-error");
    } else {
      input.removeAttribute("aria-invalid");
      input.parentElement.classList.remove("has-error");
    }
  }

  function renderVariables(names, current) {
    const list = document.getElementById("variables");
    list.textContent = "";
    if (!names.length) {
      const none = document.createElement("span");
      none.className = "muted";
      none.textContent = "none";
      list.appendChild(none);
    }
    names.forEach((name) => {
      const code = document.createElement("code");
      code.textContent = name;
      list.appendChild(code);
      list.appendChild(document.createTextNode(" "));
    });
    // Keep one labelled input per variable, preserving what was typed.
    const legend = samplesBox.querySelector("legend");
    samplesBox.textContent = "";
    samplesBox.appendChild(legend);
    if (!names.length) {
      const p = document.createElement("p");
      p.className = "muted no-vars";
      p.textContent = "The templates have no variables.";
      samplesBox.appendChild(p);
    }
    names.forEach((name) => {
      const wrap = document.createElement("div");
      wrap.className = "field";
      const label = document.createElement("label");
      label.htmlFor = "sample-" + name;
      label.textContent = name;
      const input = document.createElement("input");
      input.id = "sample-" + name;
      input.name = "sample." + name;
      input.dataset.var = name;
      input.value = current[name] || "";
      input.addEventListener("input", check);
      wrap.appendChild(label);
      wrap.appendChild(input);
      samplesBox.appendChild(wrap);
    });
  }

  async function run() {
    if (inFlight) inFlight.abort();
    inFlight = new AbortController();
    const current = samples();
    const body = {
      system_prompt: document.getElementById("f-system_prompt").value,
      user_template: document.getElementById("f-user_template").value,
      samples: current,
    };
    let result;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body),
        credentials: "same-origin",
        signal: inFlight.signal,
      });
      if (!response.ok) return;
      result = await response.json();
    } catch (err) {
      return; // aborted by a newer keystroke, or offline: the server checks on save anyway
    }
    fields.forEach((name) => showError(name, result.errors[name]));
    const focused = document.activeElement;
    const focusedVar = focused && focused.dataset ? focused.dataset.var : null;
    const names = Array.from(samplesBox.querySelectorAll("input[data-var]")).map((i) => i.dataset.var);
    if (names.join("\u0000") !== result.variables.join("\u0000")) {
      renderVariables(result.variables, current);
      if (focusedVar) {
        const again = document.getElementById("sample-" + focusedVar);
        if (again) again.focus();
      }
    }
    // Each text's preview on its own: an error in one leaves the other's preview in place.
    fields.forEach((name) => {
      const shown = Object.prototype.hasOwnProperty.call(result.preview, name);
      document.getElementById("preview-" + name).textContent = shown ? result.preview[name] : "";
      document.getElementById("preview-" + name + "-note").hidden = shown;
    });
  }

  const check = debounce(run, 250);
  fields.forEach((name) => document.getElementById("f-" + name).addEventListener("input", check));
  samplesBox.querySelectorAll("input[data-var]").forEach((input) => input.addEventListener("input", check));
}

document.addEventListener("DOMContentLoaded", () => {
  setupCopyButtons();
  setupEditor();
});
