// Bulwark's own page script (htmx does the requests): puts each of a form's errors beside the
// field it names, and makes "select all" checkboxes work.
document.addEventListener("htmx:beforeRequest", (event) => {
  const form = event.detail.elt.closest("form");
  if (!form) return;
  form.querySelectorAll("[data-error-for]").forEach((slot) => (slot.textContent = ""));
  form.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
});

document.addEventListener("htmx:afterSwap", (event) => {
  const form = event.detail.target.closest("form");
  const lines = event.detail.target.querySelectorAll("[data-field]");
  if (!form || lines.length === 0) return;
  let first = null;
  lines.forEach((line) => {
    const field = CSS.escape(line.dataset.field);
    const slot = form.querySelector(`[data-error-for="${field}"]`);
    const input = form.querySelector(`[name="${field}"]`);
    if (slot) {
      // Said once, beside the field; the alert names the field as its label does.
      slot.textContent = line.textContent.replace(/^[^:]*:\s*/, "");
      const label = input && input.id ? form.querySelector(`label[for="${CSS.escape(input.id)}"]`) : null;
      line.textContent = `Check ${label ? label.textContent.trim() : "the marked field"}.`;
    }
    if (input) {
      input.setAttribute("aria-invalid", "true");
      first = first || input;
    }
  });
  if (first) first.focus();
});

document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-select-all]");
  if (!all) return;
  const name = CSS.escape(all.dataset.selectAll);
  document
    .querySelectorAll(`input[type=checkbox][name="${name}"]`)
    .forEach((box) => (box.checked = all.checked));
});
