// Submits a filter form as soon as one of its [data-autosubmit] fields changes (no inline handlers:
// the Content-Security-Policy allows only script files).
document.querySelectorAll("[data-autosubmit]").forEach((field) => {
  field.addEventListener("change", () => field.form.submit());
});
