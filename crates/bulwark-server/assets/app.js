// Bulwark's own page script (htmx does the requests): puts a form's error beside the field
// it names, and makes "select all" checkboxes work.
document.addEventListener("htmx:beforeRequest", (event) => {
  const form = event.detail.elt.closest("form");
  if (!form) return;
  form.querySelectorAll("[data-error-for]").forEach((slot) => (slot.textContent = ""));
  form.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
});

document.addEventListener("htmx:afterSwap", (event) => {
  const alert = event.detail.target.querySelector("[data-field]");
  const form = event.detail.target.closest("form");
  if (!alert || !form) return;
  const field = CSS.escape(alert.dataset.field);
  const slot = form.querySelector(`[data-error-for="${field}"]`);
  const input = form.querySelector(`[name="${field}"]`);
  if (slot) {
    // Said once, beside the field; the alert names the field as its label does.
    slot.textContent = alert.textContent.replace(/^[^:]*:\s*/, "");
    const label = input && input.id ? form.querySelector(`label[for="${CSS.escape(input.id)}"]`) : null;
    alert.textContent = `Check ${label ? label.textContent.trim() : "the marked field"}.`;
  }
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
});

document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-select-all]");
  if (!all) return;
  const name = CSS.escape(all.dataset.selectAll);
  document
    .querySelectorAll(`input[type=checkbox][name="${name}"]`)
    .forEach((box) => (box.checked = all.checked));
});
