// PromptOps editor: rows added, removed and moved in place, and the draft checked as you
// type. Plain JavaScript, no dependencies, no build step. The server holds every rule: this
// script sends the form's fields to the editor's validate endpoint (the contract's rules)
// and shows the first error beside the box it names, the variables and the preview. Without
// it the page's buttons post the form and the server does the same.
"use strict";

(function () {
  function debounce(fn, ms) {
    let timer = null;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  const INDEXED = /\b(messages|inputs)\.(?:\d+|__i__)\./g;

  // Row i's boxes are named <group>.<i>.<key>: after a change, number them by position.
  function renumber(list) {
    const group = list.dataset.group;
    Array.from(list.children).forEach((row, i) => {
      const fix = (value) => value.replace(INDEXED, (all, g) => (g === group ? `${g}.${i}.` : all));
      row.querySelectorAll("*").forEach((el) => {
        ["name", "id", "for", "aria-describedby", "value"].forEach((attr) => {
          if (attr === "value" && el.tagName !== "BUTTON") return;
          const value = el.getAttribute(attr);
          if (value && value.includes(group + ".")) el.setAttribute(attr, fix(value));
        });
      });
    });
  }

  function setup() {
    const form = document.getElementById("editor");
    if (!form) return;
    const url = form.dataset.validateUrl;
    const csrf = form.dataset.csrf;
    const samplesBox = document.getElementById("samples");
    const status = document.getElementById("check-status");
    let inFlight = null;

    function fields() {
      const out = {};
      new FormData(form).forEach((value, name) => {
        if (typeof value !== "string") return;
        if (name === "csrf_token" || name === "base" || name.startsWith("sample.")) return;
        out[name] = value;
      });
      return out;
    }

    function samples() {
      const out = {};
      samplesBox.querySelectorAll("input[data-var]").forEach((input) => {
        out[input.dataset.var] = input.value;
      });
      return out;
    }

    function clearErrors() {
      form.querySelectorAll(".field-error").forEach((p) => {
        p.textContent = "";
        p.hidden = true;
      });
      form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
      form.querySelectorAll(".has-error").forEach((el) => el.classList.remove("has-error"));
      document.getElementById("error-summary").hidden = true;
    }

    function showError(error) {
      clearErrors();
      if (!error) {
        status.textContent = "Checked: no problems.";
        return;
      }
      status.textContent = "1 problem: " + error.message;
      const box = document.getElementById(error.target + "-error");
      if (!box || error.target === "form") {
        document.getElementById("form-error").textContent = error.message;
        document.getElementById("error-summary").hidden = false;
        return;
      }
      box.textContent = error.text;
      box.hidden = false;
      const input = document.getElementById("f-" + error.target);
      if (input) {
        input.setAttribute("aria-invalid", "true");
        input.parentElement.classList.add("has-error");
        const details = input.closest("details");
        if (details) details.open = true;
      }
    }

    function renderVariables(names, fromSnippets, slots, current) {
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
      samplesBox.querySelectorAll(".field, .no-vars").forEach((el) => el.remove());
      const all = names.concat(fromSnippets, slots);
      if (!all.length) {
        const p = document.createElement("p");
        p.className = "muted no-vars";
        p.textContent = "The templates have no variables.";
        samplesBox.appendChild(p);
      }
      all.forEach((name) => {
        const wrap = document.createElement("div");
        wrap.className = "field";
        const label = document.createElement("label");
        label.htmlFor = "sample-" + name;
        label.textContent = name;
        const kind = fromSnippets.includes(name)
          ? " (in a snippet)"
          : slots.includes(name) ? " (placeholder: a JSON list of messages)" : "";
        if (kind) {
          const note = document.createElement("span");
          note.className = "muted";
          note.textContent = kind;
          label.appendChild(note);
        }
        const input = document.createElement("input");
        input.id = "sample-" + name;
        input.name = "sample." + name;
        input.dataset.var = name;
        input.value = current[name] || "";
        wrap.appendChild(label);
        wrap.appendChild(input);
        samplesBox.appendChild(wrap);
      });
    }

    async function run() {
      if (inFlight) inFlight.abort();
      inFlight = new AbortController();
      const current = samples();
      let result;
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
          body: JSON.stringify({ fields: fields(), samples: current }),
          credentials: "same-origin",
          signal: inFlight.signal,
        });
        if (!response.ok) return;
        result = await response.json();
      } catch (err) {
        return; // aborted by a newer keystroke, or offline: the server checks on save anyway
      }
      showError(result.error);
      const focused = document.activeElement;
      const focusedVar = focused && focused.dataset ? focused.dataset.var : null;
      const wanted = result.variables.concat(result.snippet_variables, result.placeholders);
      const have = Array.from(samplesBox.querySelectorAll("input[data-var]")).map((i) => i.dataset.var);
      if (have.join("\u0000") !== wanted.join("\u0000")) {
        renderVariables(result.variables, result.snippet_variables, result.placeholders, current);
        if (focusedVar) {
          const again = document.getElementById("sample-" + focusedVar);
          if (again) again.focus();
        }
      }
      document.getElementById("preview").innerHTML = result.preview_html; // escaped by the server
    }

    const check = debounce(run, 250);
    form.addEventListener("input", check);
    form.addEventListener("change", check);

    // Rows: the same buttons the server handles without JavaScript, done in place.
    form.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button) return;
      event.preventDefault();
      const action = button.dataset.action;
      if (action === "check") {
        run();
        return;
      }
      if (action === "add") {
        const template = document.getElementById(button.dataset.template);
        const list = button.closest("section").querySelector("ol.rows");
        list.appendChild(template.content.cloneNode(true));
        renumber(list);
        const first = list.lastElementChild.querySelector("input:not([type=hidden]), select, textarea");
        if (first) first.focus();
      } else {
        const row = button.closest("li");
        const list = row.parentElement;
        if (action === "remove") {
          const next = row.nextElementSibling || row.previousElementSibling;
          row.remove();
          const focus = next ? next.querySelector("button[data-action=remove]") : null;
          (focus || list.closest("section").querySelector("button[data-action=add]")).focus();
        } else if (action === "up" && row.previousElementSibling) {
          list.insertBefore(row, row.previousElementSibling);
        } else if (action === "down" && row.nextElementSibling) {
          list.insertBefore(row.nextElementSibling, row);
        }
        renumber(list);
        if (action !== "remove") button.focus();
      }
      check();
    });
  }

  document.addEventListener("DOMContentLoaded", setup);
})();
